package dev.tandem.lab;

import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackSocket;
import dev.tandem.linux.Netns;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * `tandem bench commit`: the time to write N synthetic TCP sessions (SNAT'ed by default) into a
 * kernel's conntrack table the way session sync commits on takeover — one ConntrackSocket.create call,
 * encoded and sent in 256 KiB batches — in a fresh namespace of its own (prefix + "commit"), after a
 * 2,000-entry warm-up. The count is checked by a dump after every run. When N needs it, the host's
 * nf_conntrack_max and nf_conntrack_buckets are raised for the bench and restored afterwards
 * ({@link ConntrackLimits}); if they cannot be, nf_conntrack_max caps N (reported, never hidden).
 * Optionally times `conntrack -I`, one process per entry, for a small count as a reference.
 */
public final class CommitBench {
    /** path: how the sessions reach the kernel ({@link CommitPath#ENTRIES}, or the daemon's own commit). */
    /** nat: what the synthetic sessions look like to the kernel's NAT ({@link SyntheticSessions.Nat}). */
    public record Options(String prefix, int entries, int runs, int cliEntries, CommitPath<?> path,
                          SyntheticSessions.Nat nat) {
        public Options(String prefix, int entries, int runs, int cliEntries) {
            this(prefix, entries, runs, cliEntries, CommitPath.ENTRIES, SyntheticSessions.Nat.PORT_TRANSLATED);
        }
    }

    public record Result(int asked, int committed, String nat, long conntrackMax, List<Double> ms, double cliPerEntryUs) {}

    private static String describe(SyntheticSessions.Nat nat) {
        return switch (nat) {
            case PORT_TRANSLATED -> "source NAT to one address, every port translated, client ports reused towards 17 "
                    + "servers: the kernel's worst case";
            case PORT_KEPT -> "source NAT to one address keeping the client ports";
            case NONE -> "none, routed";
        };
    }

    private CommitBench() {}

    public static Result run(Options o, PrintStream out) {
        return run(o, o.path(), out);
    }

    private static <T> Result run(Options o, CommitPath<T> path, PrintStream out) {
        String ns = o.prefix() + "commit";
        if (Cmd.namespaces().contains(ns)) {
            Cmd.deleteNamespace(ns);
        }
        ConntrackLimits limits = ConntrackLimits.raise(o.entries(), out);
        try {
            Cmd.sh("ip", "netns", "add", ns);
            Cmd.sh("ip", "-n", ns, "link", "set", "lo", "up");
            ConntrackSocket ct = Netns.callIn(ns, ConntrackSocket::open);
            try (ct) {
                ct.flush();
                long max = conntrackMax(ns);
                int n = o.entries();
                if (max > 0 && n > max - 64) {
                    n = (int) (max - 64);
                    out.printf(Locale.ROOT, "NOTE: %,d entries asked, but nf_conntrack_max is %,d here (read-only inside a "
                            + "namespace; it could not be raised in the initial one): committing %,d; the kernel would "
                            + "refuse the rest (ENOMEM)%n",
                            o.entries(), max, n);
                }
                out.printf(Locale.ROOT, "commit bench: %,d established TCP entries (NAT: %s), committed by %s, fresh "
                        + "namespace %s, %d run(s), nf_conntrack_max %,d, nf_conntrack_buckets %,d%n", n, describe(o.nat()),
                        path.description(), ns, o.runs(), max, ConntrackLimits.read(ConntrackLimits.BUCKETS));
                // the warm-up's entries are from another part of the same address space (not in the measured table)
                check(path.commit(ct, path.prepare(SyntheticSessions.range(o.nat(), 10_000_000, 10_002_000, 600))), 2000, "warm-up");
                ct.flush();
                T entries = path.prepare(SyntheticSessions.range(o.nat(), 0, n, 600));
                List<Double> ms = new ArrayList<>();
                for (int r = 0; r < o.runs(); r++) {
                    ct.flush();
                    System.gc();
                    long t0 = System.nanoTime();
                    long c0 = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
                    long p0 = processCpuNanos();
                    CommitPath.Committed res = path.commit(ct, entries);
                    long c1 = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
                    long p1 = processCpuNanos();
                    long t1 = System.nanoTime();
                    long[] count = new long[1];
                    ct.dump(e -> count[0]++);
                    long t2 = System.nanoTime();
                    double took = (t1 - t0) / 1e6;
                    ms.add(took);
                    // the sending thread's CPU (user + kernel: ctnetlink runs in its sendto) and the whole
                    // process's (the encoder thread and the JVM's own threads too)
                    out.printf(Locale.ROOT, "  run %d: %,d entries in %.1f ms = %,.0f entries/s (CPU: sender %.0f ms = %.2f µs/entry, "
                                    + "process %.0f ms); %d failed%s; dump counts %,d (%.0f ms)%n", r + 1, res.succeeded(), took,
                            res.succeeded() / (took / 1000), (c1 - c0) / 1e6, (c1 - c0) / 1e3 / Math.max(1, n), (p1 - p0) / 1e6,
                            res.failed(), res.firstFailure() == null ? "" : " (first: " + res.firstFailure() + ")",
                            count[0], (t2 - t1) / 1e6);
                    if (count[0] != n) {
                        out.printf("  WARNING: the dump counts %d entries, %d were committed%n", count[0], n);
                    }
                }
                ct.flush();
                entries = null;
                double cli = o.cliEntries() > 0 ? conntrackCli(ns, o.cliEntries(), out) : -1;
                double[] s = FailoverBench.stats(ms);
                out.printf(Locale.ROOT, "commit of %,d entries: min %.1f ms, median %.1f ms, max %.1f ms (median %,.0f entries/s)%n",
                        n, s[0], s[1], s[2], n / (s[1] / 1000));
                if (n < o.entries()) {
                    out.printf(Locale.ROOT, "  %,d entries at the median rate would take %.0f ms (extrapolated, not measured)%n",
                            o.entries(), o.entries() / (n / s[1]));
                }
                Result res = new Result(o.entries(), n, o.nat().label, max, ms, cli);
                out.println(json(res));
                return res;
            }
        } finally {
            Cmd.deleteNamespace(ns);
            limits.close();
        }
    }

    private static void check(CommitPath.Committed r, int n, String what) {
        if (r.succeeded() != n) {
            throw new LabException(what + ": " + (n - r.succeeded()) + " of " + n + " creates failed, first: " + r.firstFailure());
        }
    }

    private static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
    }

    static long conntrackMax(String ns) {
        Cmd.Result r = Cmd.run("ip", "netns", "exec", ns, "cat", "/proc/sys/net/netfilter/nf_conntrack_max");
        try {
            return r.code() == 0 ? Long.parseLong(r.out().trim()) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** `conntrack -I` once per entry (a process each), as operators script it: µs per entry. */
    private static double conntrackCli(String ns, int n, PrintStream out) {
        StringBuilder sh = new StringBuilder("set -e\n");
        for (int i = 0; i < n; i++) {
            ConntrackEntry e = SyntheticSessions.entry(20_000_000L + i, 600);
            sh.append(String.format(Locale.ROOT, "conntrack -I -p tcp -s %s -d %s --sport %d --dport %d -r %s -q %s "
                            + "--reply-port-src %d --reply-port-dst %d --state ESTABLISHED -t 600 -u SEEN_REPLY,ASSURED "
                            + ">/dev/null 2>&1\n",
                    e.original().source().getHostAddress(), e.original().destination().getHostAddress(),
                    e.original().sourcePort(), e.original().destinationPort(), e.reply().source().getHostAddress(),
                    e.reply().destination().getHostAddress(), e.reply().sourcePort(), e.reply().destinationPort()));
        }
        try {
            Path f = Files.createTempFile("tandem-ct-cli", ".sh");
            try {
                Files.writeString(f, sh.toString());
                long t0 = System.nanoTime();
                Cmd.Result r = Cmd.run("ip", "netns", "exec", ns, "sh", f.toString());
                long t1 = System.nanoTime();
                long[] count = new long[1];
                try (ConntrackSocket ct = Netns.callIn(ns, ConntrackSocket::open)) {
                    ct.dump(x -> count[0]++);
                    ct.flush();
                }
                double us = (t1 - t0) / 1e3 / n;
                out.printf(Locale.ROOT, "reference: `conntrack -I` (one process per entry): %d entries in %.0f ms = %.0f µs "
                                + "per entry (%,.0f entries/s)%s; %d in the table%n", n, (t1 - t0) / 1e6, us, 1e6 / us,
                        r.code() == 0 ? "" : " — exit " + r.code(), count[0]);
                return us;
            } finally {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            out.println("reference: conntrack -I not timed: " + e.getMessage());
            return -1;
        }
    }

    static String json(Result r) {
        double[] s = FailoverBench.stats(r.ms());
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "{\"bench\":\"commit\",\"nat\":\"%s\",\"asked\":%d,\"entries\":%d,\"nf_conntrack_max\":%d,\"min_ms\":%.1f,\"median_ms\":%.1f,"
                        + "\"max_ms\":%.1f,\"median_entries_per_s\":%.0f,\"runs_ms\":[", r.nat(), r.asked(), r.committed(), r.conntrackMax(),
                s[0], s[1], s[2], r.committed() / (s[1] / 1000)));
        for (int i = 0; i < r.ms().size(); i++) {
            b.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.1f", r.ms().get(i)));
        }
        b.append(']');
        if (r.cliPerEntryUs() >= 0) {
            b.append(String.format(Locale.ROOT, ",\"conntrack_cli_us_per_entry\":%.0f", r.cliPerEntryUs()));
        }
        return b.append('}').toString();
    }
}
