package dev.tandem.core.sync;

import java.util.Arrays;

/**
 * The last N latency samples (nanoseconds) in a ring, with percentiles over them. Pure and not
 * thread-safe: owned by whoever owns the {@link SyncSender}.
 */
public final class LagSamples {
    private final long[] ring;
    private int next;
    private int size;
    private long total;

    public LagSamples(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        ring = new long[capacity];
    }

    public void add(long nanos) {
        ring[next] = nanos;
        next = (next + 1) % ring.length;
        size = Math.min(size + 1, ring.length);
        total++;
    }

    /** Samples held (at most the capacity). */
    public int size() {
        return size;
    }

    /** Samples ever added. */
    public long total() {
        return total;
    }

    /**
     * The p-th percentile (0..100, nearest rank) of the samples held, or -1 when there are none.
     */
    public long percentile(double p) {
        return percentiles(p)[0];
    }

    /** Several percentiles with one sort. */
    public long[] percentiles(double... ps) {
        long[] r = new long[ps.length];
        if (size == 0) {
            Arrays.fill(r, -1);
            return r;
        }
        long[] s = Arrays.copyOf(ring, size); // the first `size` slots are the filled ones until the ring wraps
        if (size == ring.length) {
            s = ring.clone();
        }
        Arrays.sort(s);
        for (int i = 0; i < ps.length; i++) {
            if (ps[i] < 0 || ps[i] > 100) {
                throw new IllegalArgumentException("percentile " + ps[i] + " is not in 0..100");
            }
            int rank = (int) Math.ceil(ps[i] / 100.0 * s.length);
            r[i] = s[Math.max(0, Math.min(s.length - 1, rank - 1))];
        }
        return r;
    }

    public void clear() {
        next = 0;
        size = 0;
    }
}
