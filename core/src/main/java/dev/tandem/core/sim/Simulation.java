package dev.tandem.core.sim;

import dev.tandem.core.ha.Action;
import dev.tandem.core.ha.HaTimers;
import dev.tandem.core.ha.InstanceSpec;
import dev.tandem.core.ha.Input;
import dev.tandem.core.ha.NodeCore;
import dev.tandem.core.ha.NodeSpec;
import dev.tandem.core.ha.NodeState;
import dev.tandem.core.ha.PeerLinks;
import dev.tandem.core.health.HealthSpec;
import dev.tandem.core.health.MonitorSpec;
import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.ChecksumMode;
import dev.tandem.core.vrrp.VrrpCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Deterministic simulation of several node cores on a simulated network and clock. Everything —
 * topology, priorities, timers, loss, delay, reordering, partitions, link failures, crashes,
 * restarts, stalls (one node, or every node at once as on one hypervisor), operator commands — is
 * drawn from one seed, so any failure replays exactly.
 *
 * <p>Two phases: chaos (disturbances at random), then heal (every fault repaired, no loss, small
 * delay). Invariants:
 * <ol>
 *   <li>always: no node is ACTIVE while one of its VG interfaces is down (checked after every step),
 *   nor while its FAULT monitor (link group 'ext') has been down longer than the hold timers;</li>
 *   <li>always: no node preempts before its preemption hold has passed since it started or last
 *   became PASSIVE;</li>
 *   <li>once the network has been whole and stable for 3 master-down intervals (plus the election
 *   delay and preemption hold of nodes restarted at the heal), exactly one node is master of each
 *   VG, allowing a transient of at most one advert interval plus network delay (a preemption
 *   hand-over);</li>
 *   <li>always: a node with session sync adds a takeover's addresses only after the commit it asked
 *   for was answered, and a node that is not ACTIVE holds no virtual address.</li>
 * </ol>
 *
 * <p>Session sync (from a second random stream of the same seed, so the first one draws what it drew
 * before session sync was simulated): a node has it or not; its takeover commit is answered at once
 * (a small table, written inline), within an advert interval, or up to five master-down intervals
 * later (a table of a million sessions), and waits with the node when it stalls.
 */
public final class Simulation {
    private static final long MS = 1_000_000L;
    private static final long MAX_EVENTS = 3_000_000;

    /** The outcome of one seed. */
    public record Result(long seed, boolean ok, String violation, String setup, long events, List<String> trace) {
        public String replayCommand() {
            return "./tandem sim --seed " + seed + " --trace";
        }
    }

    private final long seed;
    private final boolean tracing;
    private final SplittableRandom rng;
    private final List<String> trace = new ArrayList<>();
    private final PriorityQueue<Ev> queue = new PriorityQueue<>();
    private long seq;
    private long now;
    private long events;
    private String violation;

    // setup
    private final int nodeCount;
    private final int segmentCount;
    private final int advertMs;
    private final boolean preempt;
    private final long preemptHoldMs;
    private final long electionDelayMs;
    private final ChecksumMode checksum;
    private final int[] priorities;
    private final boolean[] segmentHasV6;
    private final int vgCount;
    private final boolean dedicated;
    private final int heartbeatMs;
    private static final List<String> PATHS = List.of("control", "backup");
    private final boolean[][][] pathCut; // [path][n][m], symmetric
    private final long[] bothActiveSince;

    // network state
    private final boolean[][] linkUp;   // [node][segment] as the node's kernel sees it
    private final boolean[][] cut;      // [node][segment] silently partitioned (switch port dead)
    private double loss;
    private long delayBase;
    private long jitter;
    private double corruption;

    // nodes
    private final NodeCore[] cores;
    private final int[] incarnation;
    private final long[] wakeAt;
    /** A stalled node (its JVM or its whole VM held up) is not stepped before this; what reaches it waits. */
    private final long[] pausedUntil;
    private final boolean[] suspendedByOp;

    // health monitors: a FAULT link group on ext0, a compare-mode path group 'isp', a weighted check 'svc'
    private final boolean monitored;
    private final HealthSpec health;
    private final long probeMs;
    private final boolean[] extUp;
    private final boolean[] ispReach;
    private final boolean[] svcOk;
    private final long[] extDownSince;
    private final long[] preemptClockFrom;

    // session sync: which nodes have it, the commit each last asked for, the addresses each holds
    private final SplittableRandom commitRng;
    private final boolean[] sessionsOn;
    private final long[] commitAsked;
    private final List<Set<String>> held = new ArrayList<>();

    private Simulation(long seed, boolean tracing) {
        this.seed = seed;
        this.tracing = tracing;
        this.rng = new SplittableRandom(seed);
        nodeCount = 2 + rng.nextInt(3);
        segmentCount = 1 + rng.nextInt(3);
        vgCount = 1 + rng.nextInt(2);
        int[] intervals = {10, 20, 50, 100, 300};
        advertMs = intervals[rng.nextInt(intervals.length)];
        preempt = rng.nextBoolean();
        preemptHoldMs = rng.nextInt(4) == 0 ? 0 : rng.nextLong(1, 20L * advertMs);
        electionDelayMs = rng.nextBoolean() ? -1 : rng.nextLong(0, 10L * advertMs);
        checksum = rng.nextBoolean() ? ChecksumMode.RFC5798 : ChecksumMode.V2;
        segmentHasV6 = new boolean[segmentCount];
        for (int s = 0; s < segmentCount; s++) {
            segmentHasV6[s] = rng.nextBoolean();
        }
        priorities = new int[nodeCount];
        Set<Integer> used = new HashSet<>();
        for (int n = 0; n < nodeCount; n++) {
            int p;
            do {
                p = (n == 0 && rng.nextInt(8) == 0) ? 255 : 1 + rng.nextInt(254);
            } while (!used.add(p));
            priorities[n] = p;
        }
        dedicated = rng.nextInt(10) < 7;
        heartbeatMs = Math.max(1, advertMs / (2 + rng.nextInt(4)));
        pathCut = new boolean[PATHS.size()][nodeCount][nodeCount];
        bothActiveSince = new long[nodeCount * nodeCount];
        java.util.Arrays.fill(bothActiveSince, -1);
        linkUp = new boolean[nodeCount][segmentCount];
        cut = new boolean[nodeCount][segmentCount];
        for (boolean[] row : linkUp) {
            java.util.Arrays.fill(row, true);
        }
        cores = new NodeCore[nodeCount];
        incarnation = new int[nodeCount];
        wakeAt = new long[nodeCount];
        pausedUntil = new long[nodeCount];
        suspendedByOp = new boolean[nodeCount];
        monitored = rng.nextInt(10) < 6;
        long mdiMs = HaTimers.masterDownNanos(1, advertMs * MS) / MS;
        probeMs = advertMs * (1 + rng.nextInt(5));
        health = new HealthSpec(List.of(
                new MonitorSpec.LinkGroup("ext", List.of("ext0"), false, MonitorSpec.Effect.toFault()),
                new MonitorSpec.PathGroup("isp", List.of("192.0.2.1"), 1 + rng.nextInt(3), false, true,
                        MonitorSpec.Effect.toFault()),
                new MonitorSpec.ServiceCheck("svc", 1 + rng.nextInt(3), 1 + rng.nextInt(3),
                        MonitorSpec.Effect.weight(1 + rng.nextInt(253)))),
                false, rng.nextLong(0, 2L * advertMs), rng.nextLong(0, 5L * advertMs), rng.nextLong(0, 10L * advertMs),
                rng.nextInt(4), 10 * mdiMs, 15 * mdiMs);
        extUp = new boolean[nodeCount];
        ispReach = new boolean[nodeCount];
        svcOk = new boolean[nodeCount];
        java.util.Arrays.fill(extUp, true);
        java.util.Arrays.fill(ispReach, true);
        java.util.Arrays.fill(svcOk, true);
        extDownSince = new long[nodeCount];
        preemptClockFrom = new long[nodeCount];
        loss = 0;
        delayBase = 50_000 + rng.nextLong(0, 450_000);
        jitter = 0;
        commitRng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        sessionsOn = new boolean[nodeCount];
        commitAsked = new long[nodeCount];
        for (int n = 0; n < nodeCount; n++) {
            sessionsOn[n] = commitRng.nextInt(3) > 0;
            held.add(new HashSet<>());
        }
    }

    public static Result run(long seed, boolean trace) {
        Simulation s = new Simulation(seed, trace);
        try {
            s.execute();
        } catch (AssertionError | RuntimeException e) {
            s.violation = "a node core broke an invariant at " + fmt(s.now) + ": " + e;
            s.log("!! " + s.violation);
        }
        return new Result(seed, s.violation == null, s.violation, s.setup(), s.events, s.trace);
    }

    private String setup() {
        StringBuilder sb = new StringBuilder();
        sb.append(nodeCount).append(" nodes (priorities ");
        for (int n = 0; n < nodeCount; n++) {
            sb.append(n == 0 ? "" : "/").append(priorities[n]);
        }
        sb.append("), ").append(segmentCount).append(" segment(s), ").append(vgCount).append(" VG(s), advert ")
                .append(advertMs).append(" ms, preempt ").append(preempt).append(" hold ").append(preemptHoldMs)
                .append(" ms, election delay ").append(electionDelayMs).append(" ms, checksum ").append(checksum)
                .append(dedicated ? ", control+backup links with " + heartbeatMs + " ms heartbeats" : ", no dedicated links")
                .append(monitored ? ", monitors " + health : ", no monitors");
        sb.append(", session sync on");
        for (int n = 0; n < nodeCount; n++) {
            if (sessionsOn[n]) {
                sb.append(' ').append(name(n));
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ model

    private NodeSpec spec(int n) {
        List<InstanceSpec> list = new ArrayList<>();
        for (int vg = 0; vg < vgCount; vg++) {
            for (int s = 0; s < segmentCount; s++) {
                list.add(new InstanceSpec("vg" + vg, 10 + vg, seg(s), false,
                        List.of(Cidr.parse("10." + s + "." + vg + ".254/24")), v4(n, s)));
                if (segmentHasV6[s]) {
                    list.add(new InstanceSpec("vg" + vg, 10 + vg, seg(s), true,
                            List.of(Cidr.parse("fd00:" + s + ":" + vg + "::254/64")), v6(n)));
                }
            }
        }
        HaTimers t = HaTimers.profile("default").withAdvertIntervalMs(advertMs)
                .withPreemptionHoldMs(preemptHoldMs).withElectionDelayMs(electionDelayMs);
        List<String> peers = new ArrayList<>();
        for (int m = 0; m < nodeCount; m++) {
            if (m != n) {
                peers.add(name(m));
            }
        }
        PeerLinks pl = dedicated ? new PeerLinks(peers, PATHS, heartbeatMs, 3, -1) : PeerLinks.none();
        return new NodeSpec(name(n), priorities[n], preempt, true, checksum, t, list, pl,
                monitored ? health : HealthSpec.none());
    }

    private static String seg(int s) {
        return "seg" + s;
    }

    private static String name(int n) {
        return "n" + n;
    }

    private static IpAddress v4(int n, int s) {
        return IpAddress.parse("10." + s + ".0." + (n + 1));
    }

    private static IpAddress v6(int n) {
        return IpAddress.parse("fe80::" + (n + 1));
    }

    private int segmentIndex(String iface) {
        return Integer.parseInt(iface.substring(3));
    }

    // ------------------------------------------------------------------ events

    private sealed interface Kind permits Deliver, Wake, Disturb, DeliverInput, CommitDone {}

    /** The daemon of node `node` finished the commit its core asked for (id `commit`). */
    private record CommitDone(int node, int incarnation, long commit) implements Kind {}

    /** A channel message (heartbeat, release) for node `to`, sent over dedicated path `path` by `from`. */
    private record DeliverInput(int to, int from, int path, Input input) implements Kind {}

    private record Deliver(int to, int segment, boolean ipv6, IpAddress src, byte[] payload, int ttl) implements Kind {}

    private record Wake(int node, int incarnation) implements Kind {}

    private record Disturb(Runnable what, String text) implements Kind {}

    private record Ev(long time, long seq, Kind kind) implements Comparable<Ev> {
        @Override
        public int compareTo(Ev o) {
            int c = Long.compare(time, o.time);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private void at(long time, Kind k) {
        queue.add(new Ev(time, seq++, k));
    }

    // ------------------------------------------------------------------ run

    private void execute() {
        long mdi = HaTimers.masterDownNanos(1, advertMs * MS); // the longest master-down interval
        long chaosEnd = 30 * mdi + rng.nextLong(0, 10 * mdi);
        long maxElection = Math.max(electionDelayMs * MS, mdi);
        long stableFrom = chaosEnd + 3 * mdi + maxElection + (preempt ? preemptHoldMs * MS : 0) + 2 * MS
                + (monitored ? (health.monitorFailHoldDownMs() + 4 * probeMs) * MS : 0);
        long end = stableFrom + 15 * mdi;
        long grace = advertMs * MS + 2 * 3 * MS;

        for (int n = 0; n < nodeCount; n++) {
            int node = n;
            long startAt = rng.nextLong(0, 3 * mdi);
            at(startAt, new Disturb(() -> startNode(node), "start " + name(node)));
        }
        scheduleChaos(chaosEnd, mdi);
        if (monitored) {
            at(probeMs * MS, new Disturb(this::probeRound, null));
        }
        at(chaosEnd, new Disturb(this::heal, "heal: all links up, partitions removed, no loss, crashed nodes restarted"));

        long badSince = -1;
        while (!queue.isEmpty() && violation == null) {
            Ev e = queue.poll();
            if (e.time > end) {
                break;
            }
            now = e.time;
            if (++events > MAX_EVENTS) {
                violation = "event budget exceeded (" + MAX_EVENTS + "): a timer storm?";
                break;
            }
            switch (e.kind) {
                case Deliver d -> deliver(d);
                case DeliverInput d -> deliverInput(d);
                case Wake w -> wake(w);
                case CommitDone c -> commitDone(c);
                case Disturb d -> {
                    if (d.text != null) {
                        log("** " + d.text);
                    }
                    d.what.run();
                }
            }
            if (violation == null) {
                checkPairs();
            }
            if (violation == null && now >= stableFrom) {
                int masters = countActive();
                if (masters != 1) {
                    if (badSince < 0) {
                        badSince = now;
                    } else if (now - badSince > grace) {
                        violation = masters + " masters for " + fmt(now - badSince) + " after the network was "
                                + "whole and stable (since " + fmt(stableFrom) + "): " + states();
                    }
                } else {
                    badSince = -1;
                }
            }
        }
        if (violation == null) {
            now = end;
            int masters = countActive();
            if (masters != 1) {
                violation = masters + " masters at the end of the stable phase: " + states();
            }
        }
        if (violation != null) {
            log("!! VIOLATION: " + violation);
        }
    }

    private void scheduleChaos(long chaosEnd, long mdi) {
        int count = rng.nextInt(4, 25);
        for (int i = 0; i < count; i++) {
            long t = rng.nextLong(mdi, chaosEnd);
            int node = rng.nextInt(nodeCount);
            int s = rng.nextInt(segmentCount);
            long dur = rng.nextLong(1, 8 * mdi);
            if (dedicated && rng.nextInt(4) == 0) {
                int p = rng.nextInt(PATHS.size());
                int other = (node + 1 + rng.nextInt(nodeCount - 1)) % nodeCount;
                at(t, new Disturb(() -> cutPath(p, node, other, true), PATHS.get(p) + " link " + name(node) + "-"
                        + name(other) + " cut"));
                at(Math.min(t + dur, chaosEnd), new Disturb(() -> cutPath(p, node, other, false), PATHS.get(p)
                        + " link " + name(node) + "-" + name(other) + " restored"));
                continue;
            }
            if (monitored && rng.nextInt(3) == 0) {
                scheduleMonitorChaos(t, Math.min(t + dur, chaosEnd), node);
                continue;
            }
            switch (rng.nextInt(11)) {
                case 9 -> {
                    long d = rng.nextLong(MS / 2, 3 * advertMs * MS);
                    at(t, new Disturb(() -> stall(new int[]{node}, Math.min(d, chaosEnd - now)), name(node) + " stalls "
                            + fmt(d)));
                }
                case 10 -> {
                    // one hypervisor or one kernel under every node: all are held up together
                    long d = rng.nextLong(MS / 2, 3 * advertMs * MS);
                    int[] every = java.util.stream.IntStream.range(0, nodeCount).toArray();
                    at(t, new Disturb(() -> stall(every, Math.min(d, chaosEnd - now)), "every node stalls " + fmt(d)));
                }
                case 0 -> {
                    at(t, new Disturb(() -> setLink(node, s, false), name(node) + " " + seg(s) + " link down"));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> setLink(node, s, true), name(node) + " " + seg(s) + " link up"));
                }
                case 1 -> {
                    at(t, new Disturb(() -> cut[node][s] = true, name(node) + " cut from " + seg(s)));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> cut[node][s] = false, name(node) + " rejoins " + seg(s)));
                }
                case 2 -> {
                    at(t, new Disturb(() -> crash(node), "crash " + name(node)));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> startNode(node), "restart " + name(node)));
                }
                case 3 -> {
                    double l = rng.nextDouble(0.05, 0.6);
                    at(t, new Disturb(() -> loss = l, String.format(Locale.ROOT, "loss %.0f%%", l * 100)));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> loss = 0, "loss 0%"));
                }
                case 4 -> {
                    long j = rng.nextLong(0, 3 * advertMs * MS);
                    at(t, new Disturb(() -> jitter = j, "jitter " + fmt(j) + " (reordering)"));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> jitter = 0, "jitter 0"));
                }
                case 5 -> {
                    at(t, new Disturb(() -> command(node, Input.CommandKind.SUSPEND), "suspend " + name(node)));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> command(node, Input.CommandKind.RESUME), "resume " + name(node)));
                }
                case 6 -> at(t, new Disturb(() -> command(node, Input.CommandKind.DEMOTE), "demote " + name(node)));
                case 7 -> {
                    at(t, new Disturb(() -> shutdown(node), "graceful stop " + name(node)));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> startNode(node), "restart " + name(node)));
                }
                default -> {
                    double c = rng.nextDouble(0.01, 0.2);
                    at(t, new Disturb(() -> corruption = c, String.format(Locale.ROOT, "corruption %.0f%%", c * 100)));
                    at(Math.min(t + dur, chaosEnd), new Disturb(() -> corruption = 0, "corruption 0%"));
                }
            }
        }
    }

    private void scheduleMonitorChaos(long t, long until, int node) {
        switch (rng.nextInt(4)) {
            case 0 -> {
                at(t, new Disturb(() -> setExt(node, false), name(node) + " ext0 link down (link group 'ext')"));
                at(until, new Disturb(() -> setExt(node, true), name(node) + " ext0 link up"));
            }
            case 1 -> {
                at(t, new Disturb(() -> ispReach[node] = false, name(node) + " cannot reach 192.0.2.1"));
                at(until, new Disturb(() -> ispReach[node] = true, name(node) + " reaches 192.0.2.1 again"));
            }
            case 2 -> {
                at(t, new Disturb(() -> java.util.Arrays.fill(ispReach, false), "nobody reaches 192.0.2.1"));
                at(until, new Disturb(() -> java.util.Arrays.fill(ispReach, true), "192.0.2.1 reachable again"));
            }
            default -> {
                at(t, new Disturb(() -> svcOk[node] = false, name(node) + " service check 'svc' fails"));
                at(until, new Disturb(() -> svcOk[node] = true, name(node) + " service check 'svc' passes"));
            }
        }
        // a flap now and then: the same link bounces quickly, several times
        if (rng.nextInt(4) == 0) {
            for (int k = 1; k <= 3; k++) {
                long b = t + k * (until - t) / 4;
                at(b, new Disturb(() -> setExt(node, false), name(node) + " ext0 flaps down"));
                at(b + 1, new Disturb(() -> setExt(node, true), name(node) + " ext0 flaps up"));
            }
        }
    }

    private void setExt(int n, boolean up) {
        if (extUp[n] != up) {
            extUp[n] = up;
            extDownSince[n] = now;
        }
        if (cores[n] != null) {
            execute(n, cores[n].step(now, new Input.LinkChanged("ext0", up)));
        }
    }

    /** Every node runs its probe and its check once per probe period. */
    private void probeRound() {
        for (int n = 0; n < nodeCount; n++) {
            if (cores[n] != null && cores[n].state() != NodeState.STOPPED) {
                execute(n, cores[n].step(now, new Input.ProbeResult("isp", "192.0.2.1", ispReach[n],
                        ispReach[n] ? "" : "simulated loss")));
            }
            if (cores[n] != null && cores[n].state() != NodeState.STOPPED) {
                execute(n, cores[n].step(now, new Input.CheckResult("svc", svcOk[n], svcOk[n] ? "" : "exit 1")));
            }
        }
        at(now + probeMs * MS, new Disturb(this::probeRound, null));
    }

    private void heal() {
        if (monitored) {
            for (int n = 0; n < nodeCount; n++) {
                if (!extUp[n]) {
                    setExt(n, true);
                }
                ispReach[n] = true;
                svcOk[n] = true;
            }
        }
        for (int p = 0; p < PATHS.size(); p++) {
            for (int a = 0; a < nodeCount; a++) {
                for (int b = 0; b < nodeCount; b++) {
                    pathCut[p][a][b] = false;
                }
            }
        }
        loss = 0;
        jitter = Math.min(jitter, 200_000);
        jitter = 0;
        corruption = 0;
        for (int n = 0; n < nodeCount; n++) {
            for (int s = 0; s < segmentCount; s++) {
                cut[n][s] = false;
                if (!linkUp[n][s]) {
                    setLink(n, s, true);
                }
            }
            if (cores[n] == null || cores[n].state() == NodeState.STOPPED) {
                startNode(n);
            }
            if (suspendedByOp[n] || "flap max".equals(cores[n].status().suspendedBy())) {
                command(n, Input.CommandKind.RESUME);
            }
        }
    }

    // ------------------------------------------------------------------ node handling

    private void startNode(int n) {
        if (cores[n] != null && cores[n].state() != NodeState.STOPPED) {
            return; // already running
        }
        incarnation[n]++;
        suspendedByOp[n] = false;
        cores[n] = new NodeCore(spec(n));
        Set<String> down = new HashSet<>();
        for (int s = 0; s < segmentCount; s++) {
            if (!linkUp[n][s]) {
                down.add(seg(s));
            }
        }
        if (monitored && !extUp[n]) {
            down.add("ext0");
        }
        preemptClockFrom[n] = now;
        commitAsked[n] = 0;
        execute(n, cores[n].start(now, down));
        if (sessionsOn[n]) {
            execute(n, cores[n].step(now, new Input.SessionSyncState(true, 1_000_000)));
        }
    }

    private void commitDone(CommitDone c) {
        if (paused(c.node)) {
            at(pausedUntil[c.node], c); // the commit thread was held up with the node
            return;
        }
        if (cores[c.node] == null || c.incarnation != incarnation[c.node]) {
            return; // crashed meanwhile
        }
        if (c.commit == commitAsked[c.node]) {
            commitAsked[c.node] = 0;
        }
        log(name(c.node) + " commit " + c.commit + " done");
        execute(c.node, cores[c.node].step(now, new Input.SessionsCommitted(c.commit)));
    }

    /** How long a takeover's commit takes: at once, within an advert interval, or a large table's seconds. */
    private long commitDelay() {
        return switch (commitRng.nextInt(3)) {
            case 0 -> 0;
            case 1 -> commitRng.nextLong(0, advertMs * MS + 1);
            default -> commitRng.nextLong(0, 5 * HaTimers.masterDownNanos(1, advertMs * MS) + 1);
        };
    }

    private void stall(int[] nodes, long dur) {
        if (dur <= 0) {
            return;
        }
        for (int n : nodes) {
            pausedUntil[n] = Math.max(pausedUntil[n], now + dur);
            int node = n;
            at(pausedUntil[n], new Disturb(() -> resume(node), null));
        }
    }

    /** The stall is over: what arrived meanwhile was queued behind this; then the node's late timers. */
    private void resume(int n) {
        if (now < pausedUntil[n] || cores[n] == null) {
            return; // stalled again meanwhile, or crashed
        }
        wakeAt[n] = now;
        at(now, new Wake(n, incarnation[n]));
    }

    private boolean paused(int n) {
        return now < pausedUntil[n];
    }

    private void crash(int n) {
        cores[n] = null;
        incarnation[n]++;
        suspendedByOp[n] = false;
    }

    private void shutdown(int n) {
        if (cores[n] != null) {
            execute(n, cores[n].step(now, new Input.Shutdown("simulated SIGTERM")));
        }
    }

    private void command(int n, Input.CommandKind k) {
        if (cores[n] == null) {
            return;
        }
        if (k == Input.CommandKind.SUSPEND) {
            suspendedByOp[n] = true;
        } else if (k == Input.CommandKind.RESUME) {
            suspendedByOp[n] = false;
        }
        execute(n, cores[n].step(now, new Input.Command(k, "simulator")));
    }

    private void setLink(int n, int s, boolean up) {
        linkUp[n][s] = up;
        if (cores[n] != null) {
            execute(n, cores[n].step(now, new Input.LinkChanged(seg(s), up)));
        }
    }

    private void wake(Wake w) {
        if (cores[w.node] == null || w.incarnation != incarnation[w.node] || wakeAt[w.node] != now) {
            return; // stale
        }
        if (paused(w.node)) {
            return; // resume() wakes it
        }
        wakeAt[w.node] = Long.MAX_VALUE;
        execute(w.node, cores[w.node].step(now, new Input.Tick()));
    }

    private void deliver(Deliver d) {
        if (paused(d.to)) {
            at(pausedUntil[d.to], d); // held up with the node
            return;
        }
        NodeCore c = cores[d.to];
        if (c == null || !linkUp[d.to][d.segment] || cut[d.to][d.segment]) {
            return;
        }
        execute(d.to, c.step(now, new Input.PacketReceived(seg(d.segment), d.ipv6, d.src,
                VrrpCodec.group(d.ipv6), d.ttl, d.payload)));
    }

    private void execute(int n, List<Action> actions) {
        NodeCore c = cores[n];
        for (Action a : actions) {
            switch (a) {
                case Action.SendAdvert s -> send(n, s);
                case Action.SendHeartbeat h -> heartbeat(n, h);
                case Action.SendRelease r -> release(n, r);
                case Action.SendHealth h -> shareHealth(n, h);
                case Action.Record r -> {
                    log(r.event().text());
                    checkPreemption(n, r.event());
                }
                case Action.CommitSessions cs -> {
                    commitAsked[n] = cs.commit();
                    at(now + commitDelay(), new CommitDone(n, incarnation[n], cs.commit()));
                }
                case Action.AddAddress x -> {
                    if (commitAsked[n] != 0) {
                        violation = name(n) + " added " + x.address() + " before commit " + commitAsked[n] + " was done";
                    }
                    held.get(n).add(x.iface() + " " + x.address());
                }
                case Action.RemoveAddress x -> held.get(n).remove(x.iface() + " " + x.address());
                default -> { } // announcements have no effect on the simulated network
            }
        }
        if (c != null) {
            checkAlways(n);
            long d = c.nextDeadline();
            if (d != Long.MAX_VALUE && d != wakeAt[n]) {
                if (d < now) {
                    violation = name(n) + " asked for a deadline in the past (" + fmt(d) + " < " + fmt(now) + ")";
                    return;
                }
                wakeAt[n] = d;
                at(d, new Wake(n, incarnation[n]));
            }
        }
    }

    private void send(int from, Action.SendAdvert s) {
        int sg = segmentIndex(s.iface());
        if (!linkUp[from][sg] || cut[from][sg]) {
            return;
        }
        for (int to = 0; to < nodeCount; to++) {
            if (to == from || rng.nextDouble() < loss) {
                continue;
            }
            byte[] payload = s.payload();
            int ttl = 255;
            if (corruption > 0 && rng.nextDouble() < corruption) {
                payload = payload.clone();
                if (rng.nextBoolean()) {
                    payload[rng.nextInt(payload.length)] ^= (byte) (1 + rng.nextInt(255));
                } else {
                    ttl = rng.nextInt(255);
                }
            }
            long delay = delayBase + (jitter > 0 ? rng.nextLong(0, jitter + 1) : 0);
            at(now + delay, new Deliver(to, sg, s.ipv6(), s.source(), payload, ttl));
        }
    }

    private void heartbeat(int from, Action.SendHeartbeat h) {
        for (int to = 0; to < nodeCount; to++) {
            for (int p = 0; p < PATHS.size(); p++) {
                if (to == from || pathCut[p][from][to] || rng.nextDouble() < loss) {
                    continue;
                }
                long delay = delayBase + (jitter > 0 ? rng.nextLong(0, jitter + 1) : 0);
                at(now + delay, new DeliverInput(to, from, p,
                        new Input.Heartbeat(name(from), PATHS.get(p), h.state(), h.priority())));
            }
        }
    }

    private void release(int from, Action.SendRelease r) {
        for (int to = 0; to < nodeCount; to++) {
            for (int p = 0; p < PATHS.size(); p++) {
                if (to != from && !pathCut[p][from][to]) {
                    at(now + delayBase, new DeliverInput(to, from, p, new Input.PeerReleased(name(from), r.why())));
                    break; // one path carries it
                }
            }
        }
    }

    private void shareHealth(int from, Action.SendHealth h) {
        for (int to = 0; to < nodeCount; to++) {
            for (int p = 0; p < PATHS.size(); p++) {
                if (to != from && !pathCut[p][from][to]) {
                    at(now + delayBase, new DeliverInput(to, from, p, new Input.PeerHealth(name(from), h.pathGroups())));
                    break;
                }
            }
        }
    }

    /** Invariant: a preemptive takeover only after the hold since the node started or became PASSIVE. */
    private void checkPreemption(int n, dev.tandem.core.ha.HaEvent e) {
        if (e.kind() != dev.tandem.core.ha.HaEvent.Kind.TRANSITION) {
            return;
        }
        String t = e.text();
        if (t.contains(" -> PASSIVE") && !t.contains("INITIAL -> PASSIVE")) {
            preemptClockFrom[n] = now;
        } else if (t.contains(" -> ACTIVE: preempting") && now - preemptClockFrom[n] < preemptHoldMs * MS) {
            violation = name(n) + " preempted " + fmt(now - preemptClockFrom[n]) + " after it started or became "
                    + "PASSIVE, before its preemption hold of " + preemptHoldMs + " ms";
        }
    }

    private void deliverInput(DeliverInput d) {
        if (paused(d.to)) {
            at(pausedUntil[d.to], d);
            return;
        }
        NodeCore c = cores[d.to];
        if (c == null || pathCut[d.path][d.from][d.to]) {
            return;
        }
        execute(d.to, c.step(now, d.input));
    }

    private void cutPath(int p, int a, int b, boolean cut) {
        pathCut[p][a][b] = cut;
        pathCut[p][b][a] = cut;
        if (cut) {
            for (int[] x : new int[][]{{a, b}, {b, a}}) {
                if (cores[x[0]] != null) {
                    execute(x[0], cores[x[0]].step(now, new Input.ChannelClosed(name(x[1]), PATHS.get(p), "simulated cut")));
                }
            }
        }
    }

    /**
     * Invariant 3: two live nodes joined by at least one clean path (a segment both are up on, or a
     * dedicated link, with no loss, jitter or corruption) are never both ACTIVE for longer than one
     * advert interval plus a heartbeat window and network delay. A stalled node counts as live again
     * once it runs.
     */
    private void checkPairs() {
        long grace = advertMs * MS + 3L * heartbeatMs * MS + 3 * MS;
        boolean clean = loss == 0 && jitter == 0 && corruption == 0;
        for (int a = 0; a < nodeCount; a++) {
            for (int b = a + 1; b < nodeCount; b++) {
                int k = a * nodeCount + b;
                // a stalled node is silent like a crashed one: judged from the moment it runs again
                boolean both = cores[a] != null && cores[b] != null && !paused(a) && !paused(b)
                        && cores[a].state() == NodeState.ACTIVE && cores[b].state() == NodeState.ACTIVE;
                if (!both || !clean || !joined(a, b)) {
                    bothActiveSince[k] = -1;
                    continue;
                }
                if (bothActiveSince[k] < 0) {
                    bothActiveSince[k] = now;
                } else if (now - bothActiveSince[k] > grace) {
                    violation = name(a) + " and " + name(b) + " both ACTIVE for " + fmt(now - bothActiveSince[k])
                            + " while a clean path joins them: " + states();
                }
            }
        }
    }

    private boolean joined(int a, int b) {
        for (int s = 0; s < segmentCount; s++) {
            if (linkUp[a][s] && linkUp[b][s] && !cut[a][s] && !cut[b][s]) {
                return true;
            }
        }
        if (dedicated) {
            for (int p = 0; p < PATHS.size(); p++) {
                if (!pathCut[p][a][b]) {
                    return true;
                }
            }
        }
        return false;
    }

    private void checkAlways(int n) {
        NodeCore c = cores[n];
        if (c.state() != NodeState.ACTIVE) {
            if (!held.get(n).isEmpty() && violation == null) {
                violation = name(n) + " is " + c.state() + " and still holds " + held.get(n);
            }
            return;
        }
        for (int s = 0; s < segmentCount; s++) {
            if (!linkUp[n][s]) {
                violation = name(n) + " is ACTIVE while its interface " + seg(s) + " is down";
            }
        }
        if (suspendedByOp[n]) {
            violation = name(n) + " is ACTIVE while suspended";
        }
        long hold = (health.monitorFailHoldUpMs() + health.additionalMasterHoldUpMs()) * MS;
        if (monitored && !extUp[n] && now - extDownSince[n] > hold) {
            violation = name(n) + " is ACTIVE while its link group 'ext' has been down for " + fmt(now - extDownSince[n])
                    + " (hold timers " + fmt(hold) + ")";
        }
    }

    private int countActive() {
        int k = 0;
        for (NodeCore c : cores) {
            if (c != null && c.state() == NodeState.ACTIVE) {
                k++;
            }
        }
        return k;
    }

    private String states() {
        StringBuilder sb = new StringBuilder();
        for (int n = 0; n < nodeCount; n++) {
            sb.append(n == 0 ? "" : ", ").append(name(n)).append('=')
                    .append(cores[n] == null ? "crashed" : cores[n].state());
        }
        return sb.toString();
    }

    private void log(String text) {
        if (tracing) {
            trace.add(fmt(now) + "  " + text);
        }
    }

    private static String fmt(long nanos) {
        return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
    }
}
