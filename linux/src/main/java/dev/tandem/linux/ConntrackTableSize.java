package dev.tandem.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The host's conntrack table limits, as a takeover commit meets them: {@code nf_conntrack_max} (global:
 * every namespace's entries count against it; a create beyond it is refused with ENOMEM, so a commit of
 * more sessions loses the rest) and {@code nf_conntrack_buckets} (the one hash table all namespaces share;
 * every create walks three of its chains and the NAT source hash, so fewer buckets per entry is a slower
 * commit). Both are set in the initial namespace (sysctl.d, or {@code nf_conntrack.hashsize} at boot) and
 * read-only in the others. -1: could not be read.
 */
public record ConntrackTableSize(long max, long buckets) {
    public static final Path MAX = Path.of("/proc/sys/net/netfilter/nf_conntrack_max");
    public static final Path BUCKETS = Path.of("/proc/sys/net/netfilter/nf_conntrack_buckets");
    /**
     * Hash buckets per session the commit is sized for. Measured with `tandem bench commit --entries
     * 1000000` (docs/bench.md, 2026-12-06): 4 per entry gave a median of ~2.0 s over 20 runs, 2 per entry
     * ~2.2 s, 8 per entry no better than 4 (a 64 MiB table misses the cache on every bucket). The kernel's
     * own default is 1 per allowed entry, capped at 262,144 buckets.
     */
    public static final int BUCKETS_PER_SESSION = 4;
    /** Room above the synced sessions for the node's own and new connections. */
    public static final long MAX_MARGIN = 4096;

    /** The limits of this host, read from procfs (any namespace may read them). */
    public static ConntrackTableSize read() {
        return new ConntrackTableSize(readLong(MAX), readLong(BUCKETS));
    }

    /** Buckets for a table of this many sessions: {@link #BUCKETS_PER_SESSION} each, rounded up to a power of two. */
    public static long bucketsFor(long sessions) {
        long want = Math.max(1, BUCKETS_PER_SESSION * Math.max(1, sessions));
        long p = Long.highestOneBit(want);
        return p == want ? p : p << 1;
    }

    /** nf_conntrack_max for a table of this many synced sessions. */
    public static long maxFor(long sessions) {
        return sessions + MAX_MARGIN;
    }

    /**
     * What these limits mean for committing {@code sessions} synced sessions: null when both are large
     * enough (or unreadable), else one line naming each short value, what it costs and what to set.
     */
    public String shortfall(long sessions) {
        StringBuilder b = new StringBuilder();
        if (max >= 0 && max < maxFor(sessions)) {
            b.append(String.format(Locale.ROOT, "net.netfilter.nf_conntrack_max is %,d: a takeover commits at most that "
                    + "many of the %,d sessions cluster.sessions.max_entries allows (the kernel refuses the rest, their "
                    + "connections break): set it to %,d or more", max, sessions, maxFor(sessions)));
        }
        if (buckets >= 0 && buckets < sessions) {
            b.append(b.isEmpty() ? "" : "; ").append(String.format(Locale.ROOT, "net.netfilter.nf_conntrack_buckets is %,d "
                    + "for up to %,d sessions: a full commit walks chains of %.0f entries and is slower; %,d "
                    + "(%d per session) is the size the commit is measured with", buckets, sessions,
                    Math.ceil(2.0 * sessions / Math.max(1, buckets)), bucketsFor(sessions), BUCKETS_PER_SESSION));
        }
        return b.isEmpty() ? null : b.toString();
    }

    /** A procfs number; -1 when absent or not a number. */
    public static long readLong(Path p) {
        try {
            // not Files.readString: it trusts the size procfs reports (0) and returned "2" for "262144\n"
            List<String> lines = Files.readAllLines(p);
            return lines.isEmpty() ? -1 : Long.parseLong(lines.getFirst().trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
