package dev.tandem.lab;

import java.io.PrintStream;

/** `tandem lab demo`: a pair on the lab, a probe stream, a host crash of the active, the outage. */
public final class Demo {
    private Demo() {}

    public static void run(String prefix, String profile, boolean keep, PrintStream out) {
        LabTopology lab = new LabTopology(prefix);
        LabConfig cfg = LabConfig.of(profile);
        out.println("building the lab (" + prefix + "*: client, server, fw1, fw2, LAN and WAN switches)...");
        lab.up(cfg);
        try {
            out.println("starting Tandem on fw1 (primary) and fw2, profile " + profile + " (adverts every "
                    + cfg.advertIntervalMs() + " ms); a 1 ms UDP probe stream runs client -> server through the VIPs;");
            out.println("then fw1 crashes (all its traffic cut at once, daemon killed with SIGKILL, links down):");
            ProbeStream.Result r = FailoverScenario.run(lab, new TandemPair(lab), Fault.CRASH, false, null);
            out.printf("fw2 took over. The client saw an outage of %.1f ms (%d of %d probes lost).%n", r.outageMs(),
                    r.lost(), r.sent());
            if (keep) {
                out.println("node logs: " + lab.runDir() + "/fw1.log, fw2.log");
            }
        } finally {
            if (!keep) {
                lab.down();
                out.println("lab removed (use --keep to keep it).");
            }
        }
    }
}
