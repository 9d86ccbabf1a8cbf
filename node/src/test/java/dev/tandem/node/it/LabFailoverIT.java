package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.Fault;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.ProbeStream;
import dev.tandem.lab.TandemPair;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real Tandem daemons on the real lab (namespaces, bridges, nftables SNAT), aggressive profile. */
class LabFailoverIT {
    /**
     * Behaviour is tested at the default profile (300 ms adverts, 100 ms heartbeats): on the shared
     * 2-core CI host, the aggressive profile's 10 ms / 2 ms timing is disturbed by the other JVMs of
     * the suite often enough to make these tests flaky. Speed is measured by `tandem bench`.
     */
    static final String PROFILE = "default";
    private static LabTopology lab;

    @BeforeAll
    static void up() {
        lab = LabFixture.uniqueLab();
        lab.up(LabConfig.of(PROFILE));
    }

    @AfterAll
    static void down() {
        if (lab != null) {
            lab.down();
        }
        assertThat(Cmd.namespaces()).noneMatch(n -> n.startsWith(lab.prefix()));
    }

    @BeforeEach
    void clean() {
        lab.writeConfig(LabConfig.of(PROFILE));
        FailoverScenario.reset(lab);
    }

    private String status(String fw) {
        return LabFixture.status(lab, fw);
    }

    @Test
    void primaryBecomesActiveAndHoldsEveryVip() {
        try (TandemPair pair = new TandemPair(lab)) {
            // one after the other: started together, whichever JVM is up first wins (no preemption)
            pair.start("fw1");
            Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
            pair.start("fw2");
            Netns.await("fw2 passive", Duration.ofSeconds(10), () -> status("fw2").contains("\"state\":\"PASSIVE\""));
            for (String[] v : new String[][]{{"lan0", "10.10.1.254"}, {"wan0", "10.10.2.254"},
                    {"lan0", "fd10:10:1::254"}, {"wan0", "fd10:10:2::254"}}) {
                assertThat(Cmd.hasAddress(lab.ns("fw1"), v[0], v[1])).as(v[1] + " on fw1").isTrue();
                assertThat(Cmd.hasAddress(lab.ns("fw2"), v[0], v[1])).as(v[1] + " not on fw2").isFalse();
            }
            assertThat(status("fw1")).contains("\"state\":\"ACTIVE\"").contains("\"rejected_by_reason\":{}");
            // traffic really flows through the VIP with SNAT
            String ping = Cmd.in(lab.ns("client"), "ping", "-c", "2", "-i", "0.2", "-W", "1", LabTopology.SERVER);
            assertThat(ping).contains("2 received");
        }
    }

    @Test
    void hostCrashOfTheActiveMovesTheRoleAndTheStreamResumes() {
        ProbeStream.Result r = FailoverScenario.run(lab, new TandemPair(lab), Fault.CRASH, false, System.out);
        assertThat(r.outageMs()).as("client-observed outage").isLessThan(1500); // master-down ~1.1 s
        assertThat(r.outageMs()).as("a loss-derived outage").isGreaterThan(0);
        // the stream resumes: what was lost is the outage (one run of lost probes), nothing after it
        assertThat(r.lossRuns()).isBetween(1L, 3L);
        assertThat(r.lost()).isLessThanOrEqualTo((long) (r.outageMs() * 1000 / ProbeStream.INTERVAL_MICROS) + 50);
    }

    @Test
    void lanLinkDownPutsTheActiveInFaultAndThePeerTakesOver() {
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
            pair.start("fw2");
            Netns.await("fw2 passive", Duration.ofSeconds(10), () -> status("fw2").contains("\"state\":\"PASSIVE\""));
            lab.setLink("fw1", "lan0", false);
            Netns.await("fw2 active", Duration.ofSeconds(3), () -> lab.active().equals("fw2"));
            assertThat(status("fw1")).contains("\"state\":\"FAULT\"");
            Netns.await("fw1 logged the fault", Duration.ofSeconds(3),
                    () -> pair.log("fw1").contains("ACTIVE -> FAULT: interface lan0 of a virtual group went down"));
            Netns.await("fw2 logged the takeover", Duration.ofSeconds(3), () -> pair.log("fw2").contains("ACTIVE: "));
            assertThat(Cmd.hasAddress(lab.ns("fw1"), "wan0", LabTopology.WAN_VIP)).isFalse();
            lab.setLink("fw1", "lan0", true);
            Netns.await("fw1 back to PASSIVE", Duration.ofSeconds(5), () -> status("fw1").contains("\"state\":\"PASSIVE\""));
            assertThat(lab.active()).isEqualTo("fw2"); // preemption is off
        }
    }

    @Test
    void sigtermHandsOverGracefully() {
        ProbeStream.Result r = FailoverScenario.run(lab, new TandemPair(lab), Fault.GRACEFUL, false, System.out);
        assertThat(r.outageMs()).isLessThan(400); // skew ~0.1 s
    }

    @Test
    void ipv6VipsFailOverToo() {
        ProbeStream.Result r = FailoverScenario.run(lab, new TandemPair(lab), Fault.CRASH, true, System.out);
        assertThat(r.outageMs()).as("IPv6 client-observed outage").isLessThan(1500);
    }

    @Test
    void withPreemptionTheRecoveredPrimaryTakesBackAfterTheHold() {
        lab.writeConfig(LabConfig.of(PROFILE).withPreempt(true, 800));
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw2");
            Netns.await("fw2 active", Duration.ofSeconds(15), () -> lab.active().equals("fw2"));
            pair.start("fw1");
            Netns.await("fw1 passive", Duration.ofSeconds(10), () -> status("fw1").contains("\"state\":\"PASSIVE\""));
            long passiveAt = System.nanoTime();
            Netns.await("fw1 preempts", Duration.ofSeconds(8), () -> lab.active().equals("fw1"));
            long waitedMs = (System.nanoTime() - passiveAt) / 1_000_000;
            assertThat(waitedMs).as("preemption waits for its 800 ms hold").isGreaterThan(500);
            Netns.await("fw2 passive", Duration.ofSeconds(2), () -> status("fw2").contains("\"state\":\"PASSIVE\""));
        }
    }

    @Test
    void withoutPreemptionTheRecoveredPrimaryStaysPassive() {
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw2");
            Netns.await("fw2 active", Duration.ofSeconds(15), () -> lab.active().equals("fw2"));
            pair.start("fw1");
            Netns.await("fw1 passive", Duration.ofSeconds(10), () -> status("fw1").contains("\"state\":\"PASSIVE\""));
            Cmd.sleep(2500);
            assertThat(lab.active()).as(pair.log("fw1") + pair.log("fw2")).isEqualTo("fw2");
        }
    }

    @Test
    void acceptModeOffDropsTrafficToTheVipButForwards() {
        lab.writeConfig(LabConfig.of(PROFILE).withAccept(false));
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
            Cmd.Result toVip = Cmd.run("ip", "netns", "exec", lab.ns("client"), "ping", "-c", "2", "-i", "0.2", "-W", "1",
                    LabTopology.LAN_VIP);
            assertThat(toVip.out()).contains("0 received");
            String through = Cmd.in(lab.ns("client"), "ping", "-c", "2", "-i", "0.2", "-W", "1", LabTopology.SERVER);
            assertThat(through).contains("2 received");
        }
        assertThat(Cmd.run("ip", "netns", "exec", lab.ns("fw1"), "nft", "list", "table", "inet", "tandem_accept").code())
                .as("the table is removed at stop").isNotZero();
        lab.writeConfig(LabConfig.of(PROFILE));
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
            String toVip = Cmd.in(lab.ns("client"), "ping", "-c", "2", "-i", "0.2", "-W", "1", LabTopology.LAN_VIP);
            assertThat(toVip).contains("2 received");
        }
    }

    @Test
    void leftoverVipsOfACrashedRunAreRemovedAtStart() {
        Cmd.sh("ip", "-n", lab.ns("fw2"), "addr", "add", "10.10.1.254/24", "dev", "lan0");
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            Netns.await("fw1 active", Duration.ofSeconds(15), () -> Cmd.hasAddress(lab.ns("fw1"), "lan0", "10.10.1.254"));
            pair.start("fw2");
            Netns.await("fw2 removed the leftover", Duration.ofSeconds(10),
                    () -> !Cmd.hasAddress(lab.ns("fw2"), "lan0", "10.10.1.254"));
            Netns.await("fw2 passive", Duration.ofSeconds(10), () -> status("fw2").contains("\"state\":\"PASSIVE\""));
        }
    }

}
