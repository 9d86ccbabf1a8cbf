package dev.tandem.core.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The session-sync protocol on a simulated data link: a stream connection (ordered, like TLS over
 * TCP) with random delay that breaks at random (everything in flight is lost) and comes back; the
 * table changes all the time, bursts overflow the resend window. Invariant: once the network is
 * quiet, the peer's cache equals the active's table. A failing seed is printed.
 *
 * <p>Sessions have timeouts of 1-3 s that the active's table never applies (its kernel refreshes a
 * live session without telling anyone) while the receiver's cache is swept every 100 ms: the quiet
 * end (2 s of keepalives only) checks that a session unchanged for longer than its timeout stays
 * while the active is heard.
 */
class SessionSyncSimTest {
    static final long MS = 1_000_000L;

    record InFlight(long at, SyncMessage m) {}

    /** A session's timeout in seconds (1-3, fixed per key so the bulk sends the same). */
    static int timeout(byte[] k) {
        return 1 + Math.floorMod(java.util.Arrays.hashCode(k), 3);
    }

    static String run(long seed) {
        return run(seed, false);
    }

    /**
     * direct: the receiver records kernel writes, replayed onto a model kernel after every message;
     * now and then the node "was active" (forgetKernel: every entry it holds becomes stale, and it has
     * one entry of its own). During the chaos the model kernel refuses some creates and updates (as a
     * full table does: ENOMEM), reported back to the receiver like the node does. Invariants: an update
     * never lands on a stale or absent entry, the node's own entry is never touched, and once quiet the
     * kernel (without it) equals the table.
     */
    static String run(long seed, boolean direct) {
        return run(seed, direct, 1_000_000);
    }

    /**
     * cacheSize below the table's size (~15,000 sessions at the end): the cache is full all along and evicts
     * shorter-lived sessions for longer-lived ones; then once quiet every cached session has the table's value
     * (a subset of it), and in direct mode the kernel still equals the cache.
     */
    static String run(long seed, boolean direct, int cacheSize) {
        SplittableRandom r = new SplittableRandom(seed);
        SyncSender.Config cfg = new SyncSender.Config(1 + r.nextInt(64), 2000, r.nextLong(0, 3 * MS),
                1 + r.nextInt(40), r.nextBoolean() ? 0 : 20_000, 5000,
                r.nextBoolean() ? Long.MAX_VALUE : r.nextLong(1, 20_000)); // resend window also bounded in bytes
        SyncSender s = new SyncSender(cfg, 1000 + seed);
        SyncReceiver rc = direct ? SyncReceiver.direct(cacheSize) : new SyncReceiver(cacheSize);
        Map<SessionKey, byte[]> kernel = new HashMap<>();
        java.util.Set<SessionKey> stale = new java.util.HashSet<>();
        // its own stream, so that the rest of a seed's run is what it was before refusals and the writer were modelled
        SplittableRandom refusals = new SplittableRandom(seed * 31 + 7);
        int refuseOneIn = refusals.nextBoolean() ? 0 : 5 + refusals.nextInt(200); // 0: never
        // the node's writer: takes up to maxTake pending writes when free (a chance of 1 in takeOneIn a step), and
        // they land in the kernel writeNanos later; meanwhile messages go on being applied
        int takeOneIn = refusals.nextBoolean() ? 1 : 1 + refusals.nextInt(10);
        long writeNanos = refusals.nextBoolean() ? 0 : refusals.nextLong(0, 5 * MS);
        int maxTake = refusals.nextBoolean() ? Integer.MAX_VALUE : 200 + refusals.nextInt(2000);
        List<SyncReceiver.KernelWrite> inFlight = List.of();
        long inFlightDone = 0;
        SessionKey own = new SessionKey("own entry".getBytes());
        List<String> violations = new ArrayList<>();
        Map<ByteBuffer, byte[]> table = new HashMap<>();
        List<ByteBuffer> keys = new ArrayList<>();
        ArrayDeque<InFlight> toPeer = new ArrayDeque<>();
        ArrayDeque<InFlight> toActive = new ArrayDeque<>();
        boolean up = false;
        long reconnectAt = 0;
        long delay = r.nextLong(50_000, 2 * MS);
        long chaosEnd = 2000 * MS;
        long end = chaosEnd + 2000 * MS;
        int version = 0;
        for (long now = 0; now < end; now += 100_000) { // 0.1 ms steps
            boolean chaos = now < chaosEnd;
            List<SyncSender.Out> outs = new ArrayList<>(s.tick(now));
            // the table changes: a few changes per step in chaos, bursts now and then
            int n = chaos ? (r.nextInt(200) == 0 ? 300 : r.nextInt(3)) : 0;
            for (int i = 0; i < n; i++) {
                int op = r.nextInt(10);
                if (op < 5 || keys.isEmpty()) {
                    byte[] k = ByteBuffer.allocate(8).putLong(r.nextLong()).array();
                    byte[] v = ("v" + (version++)).getBytes();
                    table.put(ByteBuffer.wrap(k), v);
                    keys.add(ByteBuffer.wrap(k));
                    outs.addAll(s.change(now, SessionChange.upsert(k, v, timeout(k))));
                } else if (op < 8) {
                    ByteBuffer k = keys.get(r.nextInt(keys.size()));
                    byte[] v = ("v" + (version++)).getBytes();
                    table.put(k, v);
                    outs.addAll(s.change(now, SessionChange.upsert(k.array(), v, timeout(k.array()))));
                } else {
                    ByteBuffer k = keys.remove(r.nextInt(keys.size()));
                    table.remove(k);
                    outs.addAll(s.change(now, SessionChange.delete(k.array())));
                }
            }
            // the link breaks and comes back
            if (up && chaos && r.nextInt(20_000) == 0) {
                up = false;
                toPeer.clear();
                toActive.clear();
                outs.addAll(s.disconnected(now, "p"));
                reconnectAt = now + r.nextLong(1 * MS, 50 * MS);
            }
            if (!up && now >= reconnectAt) {
                up = true;
                outs.addAll(s.connected(now, "p"));
                toActive.add(new InFlight(now + delay, rc.resume()));
            }
            // deliveries
            while (!toActive.isEmpty() && toActive.peek().at <= now) {
                outs.addAll(s.received(now, "p", toActive.poll().m));
            }
            boolean sweep = now % (100 * MS) == 0;
            while (sweep || !toPeer.isEmpty() && toPeer.peek().at <= now) {
                if (sweep) {
                    sweep = false;
                    rc.expire(now, 200); // (direct: refreshes and retries, checked like the stream's writes)
                } else {
                    for (SyncMessage reply : rc.received(now, toPeer.poll().m)) {
                        toActive.add(new InFlight(now + delay, reply));
                    }
                }

            }
            if (direct) {
                if (!inFlight.isEmpty() && now >= inFlightDone) {
                    land(inFlight, rc, kernel, stale, own, violations, chaos, refuseOneIn, refusals);
                    inFlight = List.of();
                }
                if (inFlight.isEmpty() && refusals.nextInt(takeOneIn) == 0) {
                    inFlight = rc.takeKernelWrites(maxTake);
                    inFlightDone = now + writeNanos;
                    if (writeNanos == 0) {
                        land(inFlight, rc, kernel, stale, own, violations, chaos, refuseOneIn, refusals);
                        inFlight = List.of();
                    }
                }
            }
            if (direct && chaos && r.nextInt(8_000) == 0) {
                land(inFlight, rc, kernel, stale, own, violations, chaos, refuseOneIn, refusals); // (the writer finishes first)
                inFlight = List.of();
                rc.forgetKernel(); // this node was active for a while: what it holds carried traffic
                stale.addAll(kernel.keySet());
                kernel.put(own, "own".getBytes());
            }
            for (int guard = 0; !outs.isEmpty() && guard < 100; guard++) {
                List<SyncSender.Out> next = new ArrayList<>();
                for (SyncSender.Out o : outs) {
                    switch (o) {
                        case SyncSender.Out.Send snd -> {
                            if (up) {
                                toPeer.add(new InFlight(now + delay, snd.message()));
                            }
                        }
                        case SyncSender.Out.Dump d -> {
                            List<SessionChange> all = new ArrayList<>();
                            table.forEach((k, v) -> all.add(SessionChange.upsert(k.array(), v, timeout(k.array()))));
                            next.addAll(s.bulk(now, d.peer(), all));
                        }
                        case SyncSender.Out.Disconnect d -> {
                            up = false;
                            toPeer.clear();
                            toActive.clear();
                            next.addAll(s.disconnected(now, "p"));
                            reconnectAt = now + MS;
                        }
                        case SyncSender.Out.Note note -> { }
                    }
                }
                outs = next;
            }
        }
        if (direct) {
            // the writer has caught up long before the end of the quiet time (checked: nothing is left)
            land(inFlight, rc, kernel, stale, own, violations, false, 0, refusals);
            if (rc.pendingKernelWrites() > 0 || rc.refusedByKernel() > 0) {
                return "seed " + seed + ": the writer had not caught up at the end: " + rc.pendingKernelWrites()
                        + " pending, " + rc.refusedByKernel() + " refused (receiver " + rc.state() + ")";
            }
        }
        Map<SessionKey, byte[]> got = rc.snapshot();
        if (!violations.isEmpty()) {
            return "seed " + seed + ": " + violations.size() + " kernel write violation(s) (up to 100 kept), first: " + violations.getFirst();
        }
        if (direct) {
            if (kernel.containsKey(own) && !java.util.Arrays.equals(kernel.remove(own), "own".getBytes())) {
                return "seed " + seed + ": the node's own entry changed";
            }
            if (!kernel.keySet().equals(got.keySet())) {
                return "seed " + seed + ": the kernel holds " + kernel.size() + " synced sessions, the cache " + got.size();
            }
            for (Map.Entry<SessionKey, byte[]> e : got.entrySet()) {
                if (!java.util.Arrays.equals(kernel.get(e.getKey()), e.getValue())) {
                    return "seed " + seed + ": a session differs between kernel and cache";
                }
            }
        }
        if (rc.state() != SyncReceiver.State.SYNCED) {
            return "seed " + seed + ": receiver not SYNCED at the end";
        }
        if (cacheSize < 1_000_000) {
            for (Map.Entry<SessionKey, byte[]> e : got.entrySet()) {
                if (!java.util.Arrays.equals(table.get(ByteBuffer.wrap(e.getKey().bytes())), e.getValue())) {
                    return "seed " + seed + ": a cached session is not the table's (full cache of " + cacheSize + ")";
                }
            }
            return got.size() <= cacheSize ? null : "seed " + seed + ": a cache of " + cacheSize + " holds " + got.size();
        }
        if (got.size() != table.size()) {
            return "seed " + seed + ": cache has " + got.size() + " sessions, table " + table.size();
        }
        for (Map.Entry<ByteBuffer, byte[]> e : table.entrySet()) {
            if (!java.util.Arrays.equals(got.get(new SessionKey(e.getKey().array())), e.getValue())) {
                return "seed " + seed + ": a session differs";
            }
        }
        return null;
    }

    /**
     * Lands writes in the model kernel (refusing some during the chaos, as a full table does) and reports
     * the refused ones back to the receiver like the node does.
     */
    private static void land(List<SyncReceiver.KernelWrite> writes, SyncReceiver rc, Map<SessionKey, byte[]> kernel,
            java.util.Set<SessionKey> stale, SessionKey own, List<String> violations, boolean chaos, int refuseOneIn,
            SplittableRandom refusals) {
        List<byte[]> refused = new ArrayList<>();
        for (SyncReceiver.KernelWrite w : writes) {
            SessionKey k = new SessionKey(w.key());
            if (k.equals(own)) {
                violation(violations, "wrote the node's own entry");
            }
            if (chaos && refuseOneIn > 0 && w.kind() != SyncReceiver.KernelWrite.Kind.DELETE
                    && refusals.nextInt(refuseOneIn) == 0) {
                if (w.kind() == SyncReceiver.KernelWrite.Kind.UPDATE && !kernel.containsKey(k)) {
                    violation(violations, "update of a session the kernel holds not");
                }
                refused.add(w.key()); // the kernel keeps what it had (nothing, a stale entry, the older value)
                continue;
            }
            switch (w.kind()) {
                case CREATE -> {
                    kernel.put(k, w.value()); // replaces a stale entry
                    stale.remove(k);
                }
                case UPDATE -> {
                    if (!kernel.containsKey(k) || stale.contains(k)) {
                        violation(violations, "update of a session the kernel holds " + (stale.contains(k) ? "stale" : "not"));
                    }
                    kernel.put(k, w.value());
                }
                case DELETE -> {
                    kernel.remove(k);
                    stale.remove(k);
                }
            }
        }
        if (!refused.isEmpty()) {
            rc.kernelRefused(refused);
        }
    }

    /** Keeps the first 100 (a broken receiver makes millions). */
    private static void violation(List<String> violations, String what) {
        if (violations.size() < 100) {
            violations.add(what);
        }
    }

    @Test
    void theCacheEqualsTheTableOnceTheNetworkIsQuiet() {
        long seeds = Long.getLong("tandem.sync.seeds", 60);
        List<String> failures = new ArrayList<>();
        for (long seed = 1; seed <= seeds; seed++) {
            String f = run(seed);
            if (f != null) {
                failures.add(f);
            }
        }
        assertThat(failures).as("replay one: -Dtandem.sync.seeds and run(seed)").isEmpty();
    }

    @Test
    void directModeKeepsTheKernelEqualToTheCacheAndNeverUpdatesAStaleEntry() {
        long seeds = Long.getLong("tandem.sync.seeds", 20);
        List<String> failures = new ArrayList<>();
        for (long seed = 1; seed <= seeds; seed++) {
            String f = run(seed, true);
            if (f != null) {
                failures.add(f);
            }
        }
        assertThat(failures).as("replay one: -Dtandem.sync.seeds and run(seed, true)").isEmpty();
    }

    @Test
    void aFullCacheHoldsOnlyTheTablesSessionsAndDirectModeKeepsTheKernelEqualToIt() {
        long seeds = Long.getLong("tandem.sync.seeds", 10);
        List<String> failures = new ArrayList<>();
        for (long seed = 1; seed <= seeds; seed++) {
            String f = run(seed, seed % 2 == 0, 200);
            if (f != null) {
                failures.add(f);
            }
        }
        assertThat(failures).as("replay one: -Dtandem.sync.seeds and run(seed, seed % 2 == 0, 200)").isEmpty();
    }

    @Test
    void aReconnectWithinTheWindowResendsInsteadOfABulk() {
        SyncSender s = new SyncSender(new SyncSender.Config(1, 1000, 0, 100, 0, 1000), 7);
        SyncReceiver rc = new SyncReceiver(100);
        List<SyncSender.Out> outs = new ArrayList<>(s.connected(0, "p"));
        outs.addAll(s.received(0, "p", rc.resume()));
        assertThat(outs).hasSize(1).first().isInstanceOf(SyncSender.Out.Dump.class);
        for (SyncSender.Out o : s.bulk(0, "p", List.of())) {
            if (o instanceof SyncSender.Out.Send snd) {
                rc.received(0, snd.message());
            }
        }
        assertThat(rc.state()).isEqualTo(SyncReceiver.State.SYNCED);
        s.change(1, SessionChange.upsert(new byte[]{1}, new byte[]{1}, 60)); // batch 1, delivered
        s.disconnected(2, "p");
        s.change(3, SessionChange.upsert(new byte[]{2}, new byte[]{2}, 60)); // batch 2, not delivered
        s.connected(4, "p");
        List<SyncSender.Out> resend = s.received(5, "p", rc.resume());
        assertThat(resend).extracting(o -> ((SyncSender.Out.Send) o).message())
                .allMatch(m -> m instanceof SyncMessage.Batch b && !b.bulk()).hasSize(2);
        assertThat(s.stats().getFirst().resends()).isEqualTo(2);
    }
}
