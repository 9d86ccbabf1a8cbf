package dev.tandem.lab;

import java.io.PrintStream;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * One failover run on the lab: start the pair, wait until fw1 is active and the probe stream flows,
 * hit fw1 with the fault, wait until fw2 holds the VIPs, and return the client-observed outage.
 * Leaves the lab as it found it (daemons stopped, links up, no VIPs).
 */
public final class FailoverScenario {
    private FailoverScenario() {}

    public static ProbeStream.Result run(LabTopology lab, HaPair pair, Fault fault, boolean ipv6, PrintStream out) {
        reset(lab);
        try (pair) {
            for (int attempt = 1; ; attempt++) {
                String holder = startPair(lab, pair, fault);
                if (holder.equals("fw1")) {
                    break;
                }
                String why = "after fw2 started, the VIP holder is " + holder + ", not fw1";
                if (attempt >= START_ATTEMPTS) {
                    throw new LabException(why + " (" + attempt + " attempts)\n" + pair.log("fw2"));
                }
                // a backup that takes the role as it starts is a finding, but not the fault under test
                if (out != null) {
                    out.printf("  %-10s %s: pair restarted (attempt %d of %d)%n", pair.name(), why, attempt + 1,
                            START_ATTEMPTS);
                }
                pair.close();
                reset(lab);
            }
            try (ProbeStream probe = ProbeStream.start(lab, ipv6)) {
                probe.awaitFlowing(10_000);
                Cmd.sleep(1000);
                if (fault == Fault.CRASH) {
                    // a crash is measured on a pair in its steady state: Tandem's passive sizes its advert
                    // silence window from the active's heartbeats (5 s to start, a stall forgotten after
                    // 30 s), and starting the probe (a JVM and tcpdump) is such a stall; the other faults
                    // are handed over, not detected by silence
                    long end = System.nanoTime() + SETTLE_MAX_MS * 1_000_000L;
                    while (System.nanoTime() < end && !pair.settled("fw2")) {
                        Cmd.sleep(500);
                    }
                }
                String detail = pair.detail("fw2");
                switch (fault) {
                    case CRASH -> {
                        // the data plane and the adverts stop at one instant, without a link event
                        // the daemon could react to; then the daemon dies and the links go down
                        lab.cutDataPlane("fw1");
                        pair.kill("fw1");
                        for (String l : lab.firewallLinks()) {
                            lab.setLink("fw1", l, false);
                        }
                    }
                    case LINK -> lab.setLink("fw1", "lan0", false);
                    case GRACEFUL -> pair.stopGracefully("fw1");
                    case DAEMON_CRASH -> pair.kill("fw1");
                }
                long faultAt = System.nanoTime();
                await("fw2 takes over after " + fault, 10_000,
                        () -> Cmd.hasAddress(lab.ns("fw2"), "lan0", LabTopology.LAN_VIP)
                                && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP), pair);
                long takeoverMs = (System.nanoTime() - faultAt) / 1_000_000;
                Cmd.sleep(1000);
                ProbeStream.Result r = probe.stop();
                if (out != null && fault == Fault.DAEMON_CRASH) {
                    out.printf("  %-10s fw2 held the VIPs %d ms after the kill (polled every 5 ms)%n", pair.name(), takeoverMs);
                }
                if (out != null) {
                    out.printf("  %-10s %-12s outage %6.1f ms  (%d probes, %d lost in %d runs, %d of them late; longest gaps: echoes %.1f ms, probes %.1f ms)%n",
                            pair.name(), fault.name().toLowerCase().replace("_", "-"), r.outageMs(), r.sent(), r.lost(),
                            r.lossRuns(), r.late(), r.replyGapMs(), r.probeGapMs());
                    if (!detail.isEmpty()) {
                        out.printf("  %-10s %s (before the fault)%n", "", detail);
                    }
                    String how = pair.takeover("fw2");
                    if (!how.isEmpty()) {
                        out.printf("  %-10s %s%n", "", how);
                    }
                }
                return r;
            }
        } finally {
            reset(lab);
        }
    }

    private static final int START_ATTEMPTS = 5;
    private static final long SETTLE_MAX_MS = 40_000;

    /** Starts fw1, then fw2 as its backup; returns who holds the VIPs once fw2 settled (fw1 is right). */
    private static String startPair(LabTopology lab, HaPair pair, Fault fault) {
        pair.start("fw1");
        await("fw1 active", 15_000, () -> lab.active().equals("fw1"), pair);
        pair.start("fw2");
        await("fw2 ready as the backup", 30_000, () -> pair.ready("fw2"), pair);
        Cmd.sleep(1500); // fw2 settles as backup
        return lab.active();
    }

    /** Links up, VIPs gone: a crash or a killed keepalived may leave them. */
    public static void reset(LabTopology lab) {
        for (String fw : List.of("fw1", "fw2")) {
            lab.restoreDataPlane(fw);
            lab.blockServer(fw, false);
            lab.setService(fw, true);
            for (String l : lab.firewallLinks()) {
                lab.setLink(fw, l, true);
            }
            Cmd.run("ip", "-n", lab.ns(fw), "addr", "del", "10.10.1.254/24", "dev", "lan0");
            Cmd.run("ip", "-n", lab.ns(fw), "addr", "del", "10.10.2.254/24", "dev", "wan0");
            Cmd.run("ip", "-n", lab.ns(fw), "addr", "del", "fd10:10:1::254/64", "dev", "lan0");
            Cmd.run("ip", "-n", lab.ns(fw), "addr", "del", "fd10:10:2::254/64", "dev", "wan0");
            Cmd.run("ip", "netns", "exec", lab.ns(fw), "conntrack", "-F");
        }
        Cmd.run("ip", "-n", lab.ns("client"), "neigh", "flush", "all");
        Cmd.run("ip", "-n", lab.ns("server"), "neigh", "flush", "all");
        Cmd.sleep(200); // carrier comes back on the veths
    }

    static void await(String what, long timeoutMs, BooleanSupplier cond, HaPair pair) {
        long end = System.nanoTime() + timeoutMs * 1_000_000L;
        while (System.nanoTime() < end) {
            if (cond.getAsBoolean()) {
                return;
            }
            Cmd.sleep(5);
        }
        throw new LabException("timed out after " + timeoutMs + " ms waiting for " + what + "\n--- fw1 ---\n"
                + tail(pair.log("fw1")) + "\n--- fw2 ---\n" + tail(pair.log("fw2")));
    }

    private static String tail(String s) {
        String[] lines = s.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - 15), lines.length));
    }
}
