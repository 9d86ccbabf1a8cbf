package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.SessionFlows;
import dev.tandem.lab.TandemPair;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * cluster.sessions.mode: direct. The passive writes the active's sessions into its own kernel as
 * they come: while fw2 is passive its conntrack table already holds fw1's flows (with their NAT), a
 * session created and destroyed on fw1 appears and disappears in fw2's table, an entry of fw2's own
 * is never touched, and TCP and UDP flows through the SNAT ruleset survive a crash of fw1 with no
 * packet dropped for lack of a session. Then failback with preemption: fw1 comes back with the stale
 * entries of before its crash, replaces them with fw2's sessions and takes over without a drop; fw2,
 * passive again, has its entries (which carried traffic) recreated by fw1's bulk.
 */
class DirectSessionSyncIT {
    static final int TCP = 200;
    static final int UDP = 20;
    private static LabTopology lab;

    @BeforeAll
    static void up() {
        lab = LabFixture.uniqueLab();
        lab.up(LabConfig.of("default"));
    }

    @AfterAll
    static void down() {
        if (lab != null) {
            lab.down();
        }
    }

    private String status(String fw) {
        return LabFixture.status(lab, fw);
    }

    private static long figure(String status, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(\\d+)").matcher(status);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** conntrack -L in fw's namespace, one entry a line. */
    /**
     * `conntrack -L` with its standard output only: its summary on standard error ("N flow entries have
     * been shown") was once spliced into the middle of an entry's line, which the counts then missed.
     */
    private String conntrack(String fw, String... filter) {
        return Cmd.in(lab.ns(fw), "sh", "-c", "exec conntrack -L " + String.join(" ", filter) + " 2>/dev/null");
    }

    /** The client's TCP flows to the server as fw's kernel holds them: established and SNATed to the WAN VIP. */
    private long natedFlows(String fw) {
        return conntrack(fw, "-p", "tcp", "--orig-port-dst", String.valueOf(SessionFlows.PORT)).lines()
                .filter(l -> l.contains("ESTABLISHED") && l.contains("sport=" + SessionFlows.PORT + " dport=")
                        && l.contains("src=" + LabTopology.SERVER + " dst=" + LabTopology.WAN_VIP + " "))
                .count();
    }

    /** The TCP flows to the test port that {@link #natedFlows} does not count (for a failure's message). */
    private List<String> notNated(String fw) {
        return conntrack(fw, "-p", "tcp", "--orig-port-dst", String.valueOf(SessionFlows.PORT)).lines()
                .filter(l -> l.startsWith("tcp") && !(l.contains("ESTABLISHED") && l.contains("sport=" + SessionFlows.PORT + " dport=")
                        && l.contains("src=" + LabTopology.SERVER + " dst=" + LabTopology.WAN_VIP + " ")))
                .toList();
    }

    private static String detail(String status) {
        Matcher m = Pattern.compile("\"session_sync_detail\":\\{[^}]*}").matcher(status);
        return m.find() ? m.group() : "no session_sync_detail in " + status;
    }

    private boolean holds(String fw, String... filter) {
        return conntrack(fw, filter).lines().anyMatch(l -> l.startsWith("tcp") || l.startsWith("udp"));
    }

    @Test
    void thePassivesKernelHoldsTheActivesSessionsAndFlowsSurviveACrash() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("default").withSessionMode("direct").withSessionLocal(true).withPreempt(true, 3000));
        // an entry of fw2's own, never synced: direct mode must leave it alone
        String[] own = {"-p", "udp", "-s", "192.0.2.10", "-d", "192.0.2.20", "--sport", "5000", "--dport", "5001"};
        Cmd.in(lab.ns("fw2"), "conntrack", "-I", "-p", "udp", "-s", "192.0.2.10", "-d", "192.0.2.20", "--sport", "5000",
                "--dport", "5001", "-t", "600");
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
            pair.start("fw2");
            Netns.await("fw2 passive and SYNCED", Duration.ofSeconds(20),
                    () -> status("fw2").contains("\"state\":\"PASSIVE\"") && status("fw2").contains("\"session_sync\":\"SYNCED\""));
            assertThat(status("fw2")).contains("\"mode\":\"direct\"");
            assertThat(pair.log("fw2")).contains("mode direct");

            // 4 s timeouts at fw1: the flows' entries in fw2's kernel come with 4 s, and must be refreshed there
            // while fw1 is heard (fw1's kernel refreshes its own with every packet, without an event)
            LabFixture.shortConntrackTimeouts(lab, "fw1", true);
            try (SessionFlows flows = new SessionFlows(lab, TCP, UDP)) {
                Netns.await("fw2's kernel holds fw1's " + TCP + " TCP flows, NAT included", Duration.ofSeconds(15),
                        () -> natedFlows("fw2") >= TCP, () -> "fw2 holds " + natedFlows("fw2") + "\n" + status("fw2"));
                Cmd.sleep(4_000 + 2 * 2_000 + 1_000); // their timeout, two sweeps of fw2's cache (every 2 s), a margin
                assertThat(natedFlows("fw2")).as("TCP flows in fw2's kernel past their timeout").isGreaterThanOrEqualTo(TCP);
                assertThat(conntrack("fw2", "-p", "udp", "--orig-port-dst", String.valueOf(SessionFlows.PORT)).lines()
                        .filter(l -> l.startsWith("udp")).count()).as("UDP flows in fw2's kernel").isGreaterThanOrEqualTo(UDP);
                assertThat(status("fw2")).containsPattern("kernel entries refreshed [1-9]");
                // cluster.sessions.local: the firewall's own traffic on a VIP is synced too (a ping to the LAN VIP)
                Cmd.in(lab.ns("client"), "ping", "-c", "2", "-i", "0.2", "-W", "1", LabTopology.LAN_VIP);
                Netns.await("fw2's kernel holds the client's ping to fw1's LAN VIP", Duration.ofSeconds(5),
                        () -> conntrack("fw2", "-p", "icmp", "-d", LabTopology.LAN_VIP).lines().anyMatch(l -> l.startsWith("icmp")),
                        () -> conntrack("fw1", "-p", "icmp") + "\n" + pair.log("fw2"));
                // back to the defaults: fw1's entries then outlive its crash, stale, for the failback below (each
                // takes the default timeout at its next packet: every flow sends one within 100 ms)
                LabFixture.shortConntrackTimeouts(lab, "fw1", false);
                Cmd.sleep(1000);

                // a session made and ended on the active appears and disappears in the passive's kernel
                String[] probe = {"-p", "tcp", "-s", "10.10.1.77", "-d", LabTopology.SERVER, "--sport", "4242", "--dport", "4343"};
                Cmd.in(lab.ns("fw1"), "conntrack", "-I", "-p", "tcp", "-s", "10.10.1.77", "-d", LabTopology.SERVER,
                        "--sport", "4242", "--dport", "4343", "--state", "ESTABLISHED", "-u", "ASSURED", "-t", "600");
                Netns.await("fw2's kernel gets the new session", Duration.ofSeconds(5), () -> holds("fw2", probe));
                Cmd.in(lab.ns("fw1"), "conntrack", "-D", "-p", "tcp", "-s", "10.10.1.77", "--dport", "4343");
                Netns.await("fw2's kernel loses the destroyed session", Duration.ofSeconds(5), () -> !holds("fw2", probe));

                String st = status("fw2");
                assertThat(figure(st, "injected")).as(st).isGreaterThanOrEqualTo(TCP + UDP);
                assertThat(figure(st, "deleted")).as(st).isGreaterThanOrEqualTo(1);
                assertThat(figure(st, "failures")).as(st).isZero();
                assertThat(holds("fw2", own)).as("fw2's own entry").isTrue();

                // crash of the active: data plane cut, daemon killed, links down
                lab.resetNoSessionDrops("fw2");
                long crash = System.nanoTime();
                lab.cutDataPlane("fw1");
                pair.kill("fw1");
                for (String l : lab.firewallLinks()) {
                    lab.setLink("fw1", l, false);
                }
                Netns.await("fw2 holds the VIPs", Duration.ofSeconds(5), () -> Cmd.hasAddress(lab.ns("fw2"),
                        "lan0", LabTopology.LAN_VIP) && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP),
                        () -> "active: " + lab.active() + "\nfw2 status: " + status("fw2") + "\n" + pair.log("fw2"));
                Cmd.sleep(3000);
                assertThat(flows.broken()).as(flows.errors().toString()).isZero();
                assertThat(flows.aliveSince(crash + 1_500_000_000L)).as("TCP flows still exchanging data").isEqualTo(TCP);
                assertThat(flows.udpAliveSince(crash + 1_500_000_000L)).as("UDP flows").isEqualTo(UDP);
                assertThat(lab.noSessionDrops("fw2")).as("packets fw2 dropped for lack of a session").isZero();
                assertThat(pair.log("fw2")).contains("direct mode: the kernel already holds the synced sessions");
                assertThat(holds("fw2", own)).as("fw2's own entry, after the takeover").isTrue();
                pair.log("fw2").lines().filter(l -> l.contains("direct mode")).forEach(l -> System.out.println("fw2: " + l));
                System.out.println("fw2 after the takeover: " + detail(status("fw2")));

                // failback: fw1 returns with the entries it had before the crash (stale: old TCP windows),
                // gets fw2's bulk into its kernel (replacing them), preempts after the hold
                lab.restoreDataPlane("fw1");
                for (String l : lab.firewallLinks()) {
                    lab.setLink("fw1", l, true);
                }
                Cmd.sleep(300);
                lab.resetNoSessionDrops("fw1");
                pair.start("fw1");
                Netns.await("fw1 preempts", Duration.ofSeconds(20), () -> lab.active().equals("fw1"),
                        () -> "fw1: " + status("fw1") + "\n" + pair.log("fw1"));
                long back = System.nanoTime();
                String fw1 = status("fw1");
                assertThat(figure(fw1, "replaced")).as("stale entries fw1 replaced: " + detail(fw1)).isGreaterThanOrEqualTo(TCP);
                Cmd.sleep(3000);
                assertThat(flows.broken()).as(flows.errors().toString()).isZero();
                assertThat(flows.aliveSince(back + 1_500_000_000L)).as("TCP flows after the failback").isEqualTo(TCP);
                assertThat(flows.udpAliveSince(back + 1_500_000_000L)).as("UDP flows after the failback").isEqualTo(UDP);
                assertThat(lab.noSessionDrops("fw1")).as("packets fw1 dropped for lack of a session").isZero();
                System.out.println("fw1 after the failback: " + detail(status("fw1")));

                // fw2 forwarded the flows while active: passive again, it has fw1's bulk recreate every session
                Netns.await("fw2 passive, SYNCED again, its entries replaced", Duration.ofSeconds(20),
                        () -> status("fw2").contains("\"session_sync\":\"SYNCED\"") && figure(status("fw2"), "replaced") >= TCP,
                        () -> detail(status("fw2")));
                // an entry being rewritten at the instant of a dump is briefly absent: wait, bounded
                Netns.await("fw2's kernel holds every TCP flow SNATed", Duration.ofSeconds(10),
                        () -> natedFlows("fw2") >= TCP, () -> "fw2 holds " + natedFlows("fw2") + ": " + detail(status("fw2"))
                                + "\nthe others:\n" + String.join("\n", notNated("fw2")) + "\n" + pair.log("fw2"));
                assertThat(figure(status("fw2"), "failures")).isZero();
                assertThat(holds("fw2", own)).as("fw2's own entry, after the failback").isTrue();
                System.out.println("fw2 after the failback: " + detail(status("fw2")));
            }
        } finally {
            LabFixture.shortConntrackTimeouts(lab, "fw1", false);
            lab.restoreDataPlane("fw1");
            for (String l : lab.firewallLinks()) {
                lab.setLink("fw1", l, true);
            }
            lab.writeConfig(LabConfig.of("default"));
        }
    }
}
