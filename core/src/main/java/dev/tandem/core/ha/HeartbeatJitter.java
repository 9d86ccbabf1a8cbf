package dev.tandem.core.ha;

/**
 * The longest gap between two heartbeats of an ACTIVE peer on one path lately (the last 30 s, in
 * six 5-second buckets). Heartbeats leave the active's loop every interval, so a longer gap is
 * how late that loop (or this node's reader) has run: the load both hosts are under right now.
 * Gaps longer than {@code outageNanos} are a path outage, not lateness, and are not counted.
 *
 * <p>Less the time this node itself was stalled within the gap ({@link #ownStall}): a stall both
 * nodes share (two VMs of one hypervisor, or the lab's namespaces on one kernel, frozen together)
 * silences the active only while this node cannot judge it either, so it cannot fake a dead active
 * and must not lengthen the silence window. Measured in the lab: a real-time thread there wakes up to
 * 8-13 ms late every minute with the host idle (cyclictest), on both nodes at once; with the whole
 * gap counted the window stayed at its maximum.
 */
final class HeartbeatJitter {
    static final long BUCKET_NANOS = 5_000_000_000L;
    static final int BUCKETS = 6;
    /** Own stalls remembered: enough for the gaps of the last heartbeats, bounded. */
    static final int STALLS = 32;

    private final long[] stallFrom = new long[STALLS];
    private final long[] stallTo = new long[STALLS];
    private int stallNext;

    private final long outageNanos;
    private final long[] maxGap = new long[BUCKETS];
    private final long[] bucketOf = new long[BUCKETS];
    private long observingSince = Long.MIN_VALUE;

    HeartbeatJitter(long outageNanos) {
        assert outageNanos > 0;
        this.outageNanos = outageNanos;
        java.util.Arrays.fill(bucketOf, Long.MIN_VALUE);
    }

    /** This node was stalled (not stepped) from {@code from} to {@code to}. */
    void ownStall(long from, long to) {
        assert from < to : "stall " + from + " .. " + to;
        stallFrom[stallNext] = from;
        stallTo[stallNext] = to;
        stallNext = (stallNext + 1) % STALLS;
    }

    /** How much of [from, to] this node spent stalled itself. */
    long ownStalled(long from, long to) {
        long sum = 0;
        for (int i = 0; i < STALLS; i++) {
            long a = Math.max(from, stallFrom[i]);
            long b = Math.min(to, stallTo[i]);
            if (stallTo[i] > stallFrom[i] && b > a) {
                sum += b - a;
            }
        }
        return Math.min(sum, to - from);
    }

    /** A heartbeat of the active arrived {@code gap} after the previous one on its path. */
    void gap(long now, long gap) {
        if (gap <= 0 || gap > outageNanos) {
            return;
        }
        gap -= ownStalled(now - gap, now);
        if (gap <= 0) {
            return;
        }
        if (observingSince == Long.MIN_VALUE) {
            observingSince = now;
        }
        long bucket = Math.floorDiv(now, BUCKET_NANOS);
        int i = (int) Math.floorMod(bucket, (long) BUCKETS);
        if (bucketOf[i] != bucket) {
            bucketOf[i] = bucket;
            maxGap[i] = 0;
        }
        maxGap[i] = Math.max(maxGap[i], gap);
    }

    /** The active's heartbeats stopped or it left the role: the next gap starts a fresh history. */
    void reset() {
        observingSince = Long.MIN_VALUE;
        java.util.Arrays.fill(bucketOf, Long.MIN_VALUE);
        java.util.Arrays.fill(maxGap, 0);
    }

    /** True once heartbeats of the active have been seen for at least one bucket without an outage. */
    boolean established(long now) {
        return observingSince != Long.MIN_VALUE && now - observingSince >= BUCKET_NANOS;
    }

    /** The longest gap in the last 30 s (0 if none). */
    long recentMax(long now) {
        long current = Math.floorDiv(now, BUCKET_NANOS);
        long max = 0;
        for (int i = 0; i < BUCKETS; i++) {
            if (bucketOf[i] != Long.MIN_VALUE && current - bucketOf[i] < BUCKETS) {
                max = Math.max(max, maxGap[i]);
            }
        }
        return max;
    }
}
