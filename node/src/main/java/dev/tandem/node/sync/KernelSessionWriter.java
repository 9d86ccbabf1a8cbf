package dev.tandem.node.sync;

import dev.tandem.core.sync.SyncReceiver.KernelWrite;
import dev.tandem.linux.ConntrackSocket;
import dev.tandem.linux.ConntrackView;
import dev.tandem.linux.Errno;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * Direct mode: writes the receiver's {@link KernelWrite}s into this node's conntrack table through
 * batched ctnetlink requests (one {@link ConntrackSocket} call per kind and list, many entries a
 * datagram). Deletes first, then updates (an entry gone from the kernel — it timed out — is created
 * again), then creates (an entry already there for the flow is stale and is replaced: deleted and
 * created, so that old TCP windows do not mark the flow's packets invalid after a takeover).
 *
 * <p>A refused entry is counted and reported — one warning at most every {@link #WARN_EVERY_NS},
 * with the errors since the last one — and never stops the writer; a broken socket is reopened on
 * the next call. Not thread-safe: the owner serialises calls.
 */
final class KernelSessionWriter implements AutoCloseable {
    static final long WARN_EVERY_NS = 10_000_000_000L;

    private final String self;
    private final BiConsumer<String, String> log; // kind, text
    private volatile ConntrackSocket socket;
    private final AtomicLong created = new AtomicLong();
    private final AtomicLong updated = new AtomicLong();
    private final AtomicLong deleted = new AtomicLong();
    private final AtomicLong replaced = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    // failures not reported yet: errno name -> count, and one example
    private final Map<String, Long> unreported = new TreeMap<>();
    private String example;
    private long lastWarn = Long.MIN_VALUE;

    /**
     * What one call did. refusedKeys: the sessions (by key) whose CREATE or UPDATE the kernel refused,
     * so not in the kernel from us; the receiver writes them again ({@code SyncReceiver.kernelRefused}).
     */
    record Outcome(int written, int failed, long nanos, List<byte[]> refusedKeys) {}

    /** Encodes a write straight from its cached value (no entry object); an undecodable one is skipped. */
    private static final ConntrackSocket.EntryLoader<KernelWrite> LOADER = (w, view) -> {
        try {
            SessionCodec.load(w.value(), view);
            return true;
        } catch (SessionCodec.BadSession x) {
            return false;
        }
    };

    KernelSessionWriter(String self, BiConsumer<String, String> log) {
        this.self = self;
        this.log = log;
    }

    /** Writes them; never throws. */
    Outcome write(List<KernelWrite> writes) {
        long t0 = System.nanoTime();
        if (writes.isEmpty()) {
            return new Outcome(0, 0, 0, List.of());
        }
        List<KernelWrite> creates = new ArrayList<>();
        List<KernelWrite> updates = new ArrayList<>();
        List<KernelWrite> deletes = new ArrayList<>();
        for (KernelWrite w : writes) {
            switch (w.kind()) {
                case CREATE -> creates.add(w);
                case UPDATE -> updates.add(w);
                case DELETE -> deletes.add(w);
            }
        }
        List<byte[]> refusedKeys = new ArrayList<>();
        int refused = 0;
        int done = 0;
        try {
            ConntrackSocket ct = socket();
            if (!deletes.isEmpty()) {
                ConntrackSocket.BatchResult r = ct.delete(deletes, LOADER);
                refused += undecodable(r, deletes);
                int gone = 0;
                for (ConntrackSocket.Failure f : r.failures()) {
                    if (f.errno() == Errno.ENOENT) {
                        gone++; // ended in the kernel already (its own timeout)
                    } else {
                        refused++; // it stays until its own timeout
                        failure(f);
                    }
                }
                deleted.addAndGet(r.succeeded() + gone);
                done += r.succeeded() + gone;
            }
            if (!updates.isEmpty()) {
                ConntrackSocket.BatchResult r = ct.update(updates, LOADER);
                refused += undecodable(r, updates);
                for (ConntrackSocket.Failure f : r.failures()) {
                    if (f.errno() == Errno.ENOENT) {
                        creates.add(updates.get(f.index())); // timed out in the kernel (or was deleted there): again
                    } else {
                        refused++;
                        refusedKeys.add(updates.get(f.index()).key());
                        failure(f);
                    }
                }
                updated.addAndGet(r.succeeded());
                done += r.succeeded();
            }
            if (!creates.isEmpty()) {
                ConntrackSocket.BatchResult r = ct.create(creates, LOADER);
                refused += undecodable(r, creates);
                List<KernelWrite> stale = new ArrayList<>();
                for (ConntrackSocket.Failure f : r.failures()) {
                    if (f.errno() == Errno.EEXIST) {
                        stale.add(creates.get(f.index()));
                    } else {
                        refused++;
                        refusedKeys.add(creates.get(f.index()).key());
                        failure(f);
                    }
                }
                created.addAndGet(r.succeeded());
                done += r.succeeded();
                if (!stale.isEmpty()) {
                    ct.delete(stale, LOADER); // ENOENT: it ended meanwhile, the create below does the rest
                    ConntrackSocket.BatchResult again = ct.create(stale, LOADER);
                    for (ConntrackSocket.Failure f : again.failures()) {
                        refused++;
                        refusedKeys.add(stale.get(f.index()).key());
                        failure(f);
                    }
                    replaced.addAndGet(again.succeeded());
                    done += again.succeeded();
                }
            }
        } catch (RuntimeException e) {
            // the socket broke (or closed under us): whatever was not written counts as failed; the sessions
            // of the creates and updates are written again (a key written meanwhile is then merely rewritten)
            int lost = Math.max(0, writes.size() - done - refused);
            refused += lost;
            for (int i = 0; i < Math.min(lost, 1); i++) {
                failure("socket", e.toString());
            }
            if (lost > 1) {
                unreported.merge("socket", (long) lost - 1, Long::sum);
            }
            refusedKeys.clear();
            for (KernelWrite w : writes) {
                if (w.kind() != KernelWrite.Kind.DELETE) {
                    refusedKeys.add(w.key());
                }
            }
            closeSocket();
        }
        failed.addAndGet(refused);
        reportIfDue(System.nanoTime());
        return new Outcome(done, refused, System.nanoTime() - t0, refusedKeys);
    }

    /** Counts the writes of a batch that held no decodable session (skipped by the loader). */
    private int undecodable(ConntrackSocket.BatchResult r, List<KernelWrite> writes) {
        if (r.skipped() == 0) {
            return 0;
        }
        for (KernelWrite w : writes) {
            try {
                SessionCodec.load(w.value(), new ConntrackView());
            } catch (SessionCodec.BadSession x) {
                failure("undecodable", x.getMessage()); // one example; the count below
                break;
            }
        }
        if (r.skipped() > 1) {
            unreported.merge("undecodable", (long) r.skipped() - 1, Long::sum);
        }
        return r.skipped();
    }

    private ConntrackSocket socket() {
        if (socket == null) {
            socket = ConntrackSocket.open();
        }
        return socket;
    }

    private void failure(ConntrackSocket.Failure f) {
        failure(Errno.name(f.errno()), f.toString());
    }

    private void failure(String reason, String what) {
        if (unreported.size() < 64 || unreported.containsKey(reason)) {
            unreported.merge(reason, 1L, Long::sum);
        } else {
            unreported.merge("other", 1L, Long::sum);
        }
        if (example == null) {
            example = what;
        }
    }

    /** One warning with the failures since the last one, at most every WARN_EVERY_NS. */
    void reportIfDue(long now) {
        if (unreported.isEmpty() || (lastWarn != Long.MIN_VALUE && now - lastWarn < WARN_EVERY_NS)) {
            return;
        }
        lastWarn = now;
        long n = unreported.values().stream().mapToLong(Long::longValue).sum();
        log.accept("WARNING", self + " session sync (direct): the kernel refused " + n + " session write(s) "
                + unreported + " (sync goes on; " + failed.get() + " in all), e.g. " + example);
        unreported.clear();
        example = null;
    }

    long created() {
        return created.get();
    }

    long updated() {
        return updated.get();
    }

    long deleted() {
        return deleted.get();
    }

    long replaced() {
        return replaced.get();
    }

    long failed() {
        return failed.get();
    }

    /** Sessions written into the kernel: created, updated, or replacing a stale entry. */
    long injected() {
        return created.get() + updated.get() + replaced.get();
    }

    private void closeSocket() {
        if (socket != null) {
            try {
                socket.close();
            } catch (RuntimeException ignored) {
                // closing
            }
            socket = null;
        }
    }

    @Override
    public void close() {
        closeSocket();
    }
}
