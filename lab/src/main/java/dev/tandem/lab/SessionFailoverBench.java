package dev.tandem.lab;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * `tandem bench failover --sessions N`: N TCP connections through the active's SNAT, then a crash of
 * the active (data plane cut at one instant, daemon killed, links down). Counted after the takeover:
 * connections that still exchange data (none reset), and packets the new active dropped for lack of a
 * session (nftables counter no_session). For Tandem (session sync) and, with --vs conntrackd, for
 * keepalived + conntrackd (FTFW over UDP on the data link) with the standard primary-backup notify
 * script (on becoming master: conntrackd -c; -f; -R; -B).
 *
 * <p>With {@code --table M}: M more (idle, synthetic, SNATed) sessions are created in fw1's kernel
 * through ctnetlink before the connections start, so the new active has a table of M + N sessions to
 * commit before its addresses move; the host's conntrack limits are raised for the bench (both
 * firewalls' tables count against the one global limit) and restored afterwards. Printed: the commit
 * as the new active logged it, and the connections that survived it.
 */
public final class SessionFailoverBench {
    /** sessionMode: Tandem's cluster.sessions.mode, cache (commit at the takeover) or direct (written as they come). */
    public record Options(String prefix, int sessions, int runs, boolean vsConntrackd, int table, String sessionMode) {
        public Options(String prefix, int sessions, int runs, boolean vsConntrackd) {
            this(prefix, sessions, runs, vsConntrackd, 0, "cache");
        }
    }

    public record Result(String impl, int sessions, int cachedBefore, int survived, int broken, long noSessionDrops,
                         long takeoverMs) {}

    private SessionFailoverBench() {}

    public static List<Result> run(Options o, PrintStream out) {
        LabTopology lab = new LabTopology(o.prefix());
        LabConfig cfg = LabConfig.of("default").withMonitors(false).withSessionMode(o.sessionMode());
        boolean created = !lab.exists();
        lab.up(cfg);
        List<Result> results = new ArrayList<>();
        // fw1's table stays in its namespace after the crash: both count against the host's one limit
        ConntrackLimits limits = o.table() > 0 ? ConntrackLimits.raise(2L * (o.table() + o.sessions()) + 10_000, out) : null;
        try {
            out.printf(Locale.ROOT, "session failover bench: %d TCP connections client -> server through SNAT%s, crash of the "
                    + "active, %d run(s), Tandem's session mode %s%s%n", o.sessions(), o.table() > 0 ? String.format(Locale.ROOT,
                    " beside %,d idle synthetic sessions", o.table()) : "", o.runs(), o.sessionMode(),
                    o.vsConntrackd() ? ", against keepalived + conntrackd" : "");
            if (o.vsConntrackd() && (!ConntrackdPair.installed() || !KeepalivedPair.installed())) {
                throw new LabException("--vs conntrackd needs keepalived and conntrackd installed");
            }
            for (int i = 0; i < o.runs(); i++) {
                out.printf("run %d/%d%n", i + 1, o.runs());
                results.add(tandem(lab, o.sessions(), o.table(), out));
                if (o.vsConntrackd()) {
                    results.add(conntrackd(lab, cfg, o.sessions(), o.table(), out));
                }
            }
            out.println();
            for (Result r : results) {
                out.printf(Locale.ROOT, "%-22s %d/%d sessions survived (%d broken), no_session drops on the new active %d, "
                                + "VIPs on fw2 %d ms after the crash%n", r.impl(), r.survived(), r.sessions(), r.broken(),
                        r.noSessionDrops(), r.takeoverMs());
            }
            out.println(json(o, results));
            return results;
        } finally {
            FailoverScenario.reset(lab);
            SyncBench.keepLogs(lab, out);
            if (created) {
                lab.down();
            }
            if (limits != null) {
                limits.close();
            }
        }
    }

    /** M synthetic SNAT sessions in fw1's kernel (its daemon or conntrackd syncs them as they come). */
    private static void fillTable(LabTopology lab, int m, PrintStream out) {
        if (m == 0) {
            return;
        }
        long t0 = System.nanoTime();
        dev.tandem.linux.ConntrackSocket.BatchResult r = dev.tandem.linux.Netns.callIn(lab.ns("fw1"), () -> {
            try (dev.tandem.linux.ConntrackSocket ct = dev.tandem.linux.ConntrackSocket.open()) {
                return ct.create(SyntheticSessions.range(0, m, 3600));
            }
        });
        out.printf(Locale.ROOT, "  fw1: %,d synthetic sessions created in %.1f s (%d refused%s)%n", r.succeeded(),
                (System.nanoTime() - t0) / 1e9, r.failures().size(), r.ok() ? "" : ", first: " + r.failures().getFirst());
    }

    private static Result tandem(LabTopology lab, int n, int table, PrintStream out) {
        FailoverScenario.reset(lab);
        lab.resetNoSessionDrops("fw1");
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            FailoverScenario.await("fw1 active", 20_000, () -> lab.active().equals("fw1"), pair);
            pair.start("fw2");
            FailoverScenario.await("fw2 passive and SYNCED", 30_000, () -> {
                String s = ControlClient.statusJson(lab, "fw2");
                return s.contains("\"state\":\"PASSIVE\"") && s.contains("\"session_sync\":\"SYNCED\"");
            }, pair);
            LongSupplier cached = () -> ControlClient.number(ControlClient.statusJson(lab, "fw2"), "sessions cached: (\\d+)");
            fillTable(lab, table, out);
            Result r = crash("tandem", lab, pair, n, table, cached, () -> pair.kill("fw1"), out);
            if (table > 0) {
                pair.log("fw2").lines().filter(l -> l.contains("committ")).forEach(l -> out.println("    fw2: " + l));
            }
            return r;
        }
    }

    private static Result conntrackd(LabTopology lab, LabConfig cfg, int n, int table, PrintStream out) {
        FailoverScenario.reset(lab);
        try (ConntrackdPair ct = new ConntrackdPair(lab);
             KeepalivedPair ka = new KeepalivedPair(lab, cfg, ct::notifyScript)) {
            ct.start("fw1");
            ct.start("fw2");
            FailoverScenario.await("conntrackd answering on fw1 and fw2", 10_000,
                    () -> ct.control("fw1", "-s").code() == 0 && ct.control("fw2", "-s").code() == 0, ct);
            // keepalived's backup now and then takes the role as it starts: restart the pair (bounded, printed)
            for (int attempt = 1; ; attempt++) {
                ka.start("fw1");
                FailoverScenario.await("fw1 master", 15_000, () -> lab.active().equals("fw1"), ka);
                ka.start("fw2");
                Cmd.sleep(1500); // fw2 settles as backup (its notify script runs -t, -n)
                if (lab.active().equals("fw1")) {
                    break;
                }
                if (attempt == 3) {
                    throw new LabException("after fw2 started, the VIP holder is " + lab.active() + ", not fw1 (3 attempts)");
                }
                out.printf("  keepalived: fw2 took the role as it started (attempt %d): restarting the pair%n", attempt);
                ka.kill("fw2");
                ka.kill("fw1");
                FailoverScenario.reset(lab);
            }
            LongSupplier cached = () -> SyncBench.externalCacheCount(ct.control("fw2", "-s").out());
            fillTable(lab, table, out);
            return crash("keepalived+conntrackd", lab, ka, n, table, cached, () -> {
                ka.kill("fw1");
                ct.kill("fw1");
            }, out);
        }
    }

    private static Result crash(String impl, LabTopology lab, HaPair pair, int n, int table, LongSupplier cached,
                                Runnable kill, PrintStream out) {
        try (SessionFlows flows = new SessionFlows(lab, n)) {
            // bounded: a replica that never completes is measured with what it has (printed)
            long waitUntil = System.nanoTime() + 15_000_000_000L + table * 100_000L;
            long c = cached.getAsLong();
            while (c < n + table && System.nanoTime() < waitUntil) {
                Cmd.sleep(100);
                c = cached.getAsLong();
            }
            Cmd.sleep(1000);
            c = cached.getAsLong();
            lab.resetNoSessionDrops("fw2");
            long crash = System.nanoTime();
            lab.cutDataPlane("fw1");
            kill.run();
            for (String l : lab.firewallLinks()) {
                lab.setLink("fw1", l, false);
            }
            FailoverScenario.await("fw2 holds the VIPs", 15_000, () -> Cmd.hasAddress(lab.ns("fw2"), "lan0", LabTopology.LAN_VIP)
                    && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP), pair);
            long vipsAt = System.nanoTime();
            long takeoverMs = (vipsAt - crash) / 1_000_000;
            // counted from the VIPs' arrival, not from the crash: after an outage of seconds (a large table to commit
            // before the VIPs, or after them as conntrackd does) TCP's retransmission back-off alone makes a
            // connection wait seconds more before it sends again; every implementation gets the same 30 s for all
            // to resume (the wait ends as soon as they have), and a reset, EOF or timeout counts as broken
            long resumeUntil = vipsAt + 30_000_000_000L;
            Cmd.sleep(2000);
            while (flows.aliveSince(vipsAt) < n && flows.broken() == 0 && System.nanoTime() < resumeUntil) {
                Cmd.sleep(200);
            }
            int alive = flows.aliveSince(vipsAt);
            long resumedMs = (System.nanoTime() - vipsAt) / 1_000_000;
            Result r = new Result(impl, n, (int) c, alive, flows.broken(), lab.noSessionDrops("fw2"), takeoverMs);
            out.printf(Locale.ROOT, "  %-22s fw2 had %d sessions cached; VIPs on fw2 after %d ms; %d/%d sessions exchanged "
                            + "data after the VIPs moved (looked %d ms), %d broken%s; no_session drops on fw2: %d%n", impl, c,
                    takeoverMs, alive, n, resumedMs, flows.broken(),
                    flows.errors().isEmpty() ? "" : " (first: " + flows.errors().getFirst() + ")", r.noSessionDrops());
            if (table > 0) {
                // the idle synthetic sessions carry no traffic to show a loss: count them in the new active's kernel
                long inKernel = SyncBench.kernelCount(lab, "fw2");
                out.printf(Locale.ROOT, "    fw2's kernel holds %,d entries after the takeover (%,d sessions were cached)%s%n",
                        inKernel, c, inKernel < c ? ": WARNING, synced sessions are missing" : "");
            }
            return r;
        }
    }

    static String json(Options o, List<Result> rs) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "{\"bench\":\"failover-sessions\",\"sessions\":%d,\"table\":%d,\"mode\":\"%s\",\"runs\":%d,\"results\":[",
                o.sessions(), o.table(), o.sessionMode(), o.runs()));
        for (int i = 0; i < rs.size(); i++) {
            Result r = rs.get(i);
            b.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT,
                    "{\"impl\":\"%s\",\"cached\":%d,\"survived\":%d,\"broken\":%d,\"no_session_drops\":%d,\"takeover_ms\":%d}",
                    r.impl(), r.cachedBefore(), r.survived(), r.broken(), r.noSessionDrops(), r.takeoverMs()));
        }
        return b.append("]}").toString();
    }
}
