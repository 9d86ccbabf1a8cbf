package dev.tandem.node.it;

import dev.tandem.lab.LabTopology;
import dev.tandem.node.daemon.ControlServer;
import java.util.Random;

/** What the lab integration tests share: a lab of their own, and requests to its daemons. */
final class LabFixture {
    private static final Random NAMES = new Random();

    private LabFixture() {}

    /** A lab with a random "tit…" prefix, so parallel or leftover labs never collide. */
    static LabTopology uniqueLab() {
        return new LabTopology("tit" + Integer.toHexString(0x1000 + NAMES.nextInt(0xefff)) + "-");
    }

    /** One line on a daemon's control socket; "unreachable: …" when it does not answer. */
    static String request(LabTopology lab, String fw, String line) {
        try {
            return ControlServer.request(lab.runDir().resolve(fw + ".sock"), line);
        } catch (Exception e) {
            return "unreachable: " + e;
        }
    }

    /**
     * Conntrack timeouts of 4 s in fw's namespace for established TCP and for UDP (or back to the kernel's
     * defaults): a live flow's entry is then refreshed by its packets well past the timeout its last event
     * carried (the kernel sends no event for a refresh).
     */
    static void shortConntrackTimeouts(LabTopology lab, String fw, boolean shortOnes) {
        dev.tandem.lab.Cmd.in(lab.ns(fw), "sysctl", "-qw",
                "net.netfilter.nf_conntrack_tcp_timeout_established=" + (shortOnes ? 4 : 432_000),
                "net.netfilter.nf_conntrack_udp_timeout=" + (shortOnes ? 4 : 30),
                "net.netfilter.nf_conntrack_udp_timeout_stream=" + (shortOnes ? 4 : 120));
    }

    static String status(LabTopology lab, String fw) {
        return request(lab, fw, "status-json");
    }

    /**
     * Waits until fw2 could take over now: PASSIVE, connected to fw1 on the control link, every
     * monitor up, session copy complete. A test of a handover measures the handover, not a backup
     * whose JVM is still settling on a busy CI host.
     */
    static void awaitFw2ReadyToTakeOver(LabTopology lab) {
        Netns.await("fw2 ready to take over", java.time.Duration.ofSeconds(20), () -> {
            String st = status(lab, "fw2");
            return st.contains("\"state\":\"PASSIVE\"") && st.contains("control link to fw1 (10.10.3.1): connected")
                    && !st.contains("\"up\":false") && !st.contains("BULK_SYNC");
        }, () -> status(lab, "fw2"));
    }
}
