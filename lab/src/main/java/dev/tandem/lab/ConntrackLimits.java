package dev.tandem.lab;

import dev.tandem.linux.ConntrackTableSize;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The host's conntrack limits for a bench that needs more entries than they allow:
 * {@code nf_conntrack_max} (global, set in the initial namespace; every namespace's count is checked
 * against it, and inside a namespace the sysctl is read-only) and {@code nf_conntrack_buckets} (the
 * size of the one hash table all namespaces share; with fewer buckets than entries every insertion
 * walks longer chains). {@link #raise} writes larger values and remembers the old ones;
 * {@link #close} restores them (also run from a shutdown hook if the bench is interrupted). Only ever
 * raises: a limit already large enough is left alone.
 */
final class ConntrackLimits implements AutoCloseable {
    static final Path MAX = ConntrackTableSize.MAX;
    static final Path BUCKETS = ConntrackTableSize.BUCKETS;

    private final PrintStream out;
    private long oldMax = -1;
    private long oldBuckets = -1;
    private final Thread hook = new Thread(this::restore, "conntrack-limits-restore");
    private boolean hooked;

    private ConntrackLimits(PrintStream out) {
        this.out = out;
    }

    /**
     * Makes room for {@code entries} entries in one namespace: nf_conntrack_max ≥ entries + margin and
     * nf_conntrack_buckets ≥ 4 × entries (a power of two), if the current values are smaller and the
     * files are writable. What it did (or could not do) is printed.
     */
    static ConntrackLimits raise(long entries, PrintStream out) {
        ConntrackLimits l = new ConntrackLimits(out);
        long wantMax = ConntrackTableSize.maxFor(entries);
        long max = read(MAX);
        if (max >= 0 && max < wantMax) {
            l.hook();
            if (write(MAX, wantMax)) {
                l.oldMax = max;
                out.printf(Locale.ROOT, "nf_conntrack_max raised from %,d to %,d for this bench (restored afterwards)%n", max,
                        wantMax);
            } else {
                out.printf(Locale.ROOT, "NOTE: nf_conntrack_max is %,d and cannot be raised here (not root in the initial "
                        + "namespace?)%n", max);
            }
        }
        long buckets = read(BUCKETS);
        // the size the takeover commit is measured with (ConntrackTableSize.BUCKETS_PER_SESSION per entry, a
        // power of two; the kernel's own sizing is one per allowed entry, at most 262,144)
        long wantBuckets = ConntrackTableSize.bucketsFor(entries);
        if (buckets >= 0 && buckets < wantBuckets) {
            l.hook();
            long t0 = System.nanoTime();
            if (write(BUCKETS, wantBuckets)) {
                l.oldBuckets = buckets;
                out.printf(Locale.ROOT, "nf_conntrack_buckets (hash table size) raised from %,d to %,d for this bench (%.0f ms; "
                        + "restored afterwards)%n", buckets, read(BUCKETS), (System.nanoTime() - t0) / 1e6);
            } else {
                out.printf(Locale.ROOT, "NOTE: nf_conntrack_buckets is %,d for %,d entries and cannot be raised here%n", buckets,
                        entries);
            }
        }
        return l;
    }

    private void hook() {
        if (!hooked) {
            Runtime.getRuntime().addShutdownHook(hook);
            hooked = true;
        }
    }

    private synchronized void restore() {
        if (oldBuckets >= 0) {
            if (write(BUCKETS, oldBuckets)) {
                out.printf(Locale.ROOT, "nf_conntrack_buckets restored to %,d%n", oldBuckets);
            } else {
                out.printf(Locale.ROOT, "WARNING: could not restore nf_conntrack_buckets to %,d%n", oldBuckets);
            }
            oldBuckets = -1;
        }
        if (oldMax >= 0) {
            if (write(MAX, oldMax)) {
                out.printf(Locale.ROOT, "nf_conntrack_max restored to %,d%n", oldMax);
            } else {
                out.printf(Locale.ROOT, "WARNING: could not restore nf_conntrack_max to %,d%n", oldMax);
            }
            oldMax = -1;
        }
    }

    @Override
    public void close() {
        restore();
        if (hooked) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down: the hook runs (and finds nothing left to do)
            }
            hooked = false;
        }
    }

    static long read(Path p) {
        return ConntrackTableSize.readLong(p);
    }

    private static boolean write(Path p, long v) {
        try {
            Files.writeString(p, Long.toString(v));
            return read(p) == v || p.equals(BUCKETS) && read(p) >= v;
        } catch (IOException e) {
            return false;
        }
    }
}
