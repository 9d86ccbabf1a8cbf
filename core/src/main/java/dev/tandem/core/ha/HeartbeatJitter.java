package dev.tandem.core.ha;

/**
 * The longest gap between two heartbeats of an ACTIVE peer on one path lately (the last 30 s, in
 * six 5-second buckets). Heartbeats leave the active's loop every interval, so a longer gap is
 * how late that loop (or this node's reader) has run: the load both hosts are under right now.
 * Gaps longer than {@code outageNanos} are a path outage, not lateness, and are not counted.
 */
final class HeartbeatJitter {
    static final long BUCKET_NANOS = 5_000_000_000L;
    static final int BUCKETS = 6;

    private final long outageNanos;
    private final long[] maxGap = new long[BUCKETS];
    private final long[] bucketOf = new long[BUCKETS];
    private long observingSince = Long.MIN_VALUE;

    HeartbeatJitter(long outageNanos) {
        assert outageNanos > 0;
        this.outageNanos = outageNanos;
        java.util.Arrays.fill(bucketOf, Long.MIN_VALUE);
    }

    /** A heartbeat of the active arrived {@code gap} after the previous one on its path. */
    void gap(long now, long gap) {
        if (gap <= 0 || gap > outageNanos) {
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
