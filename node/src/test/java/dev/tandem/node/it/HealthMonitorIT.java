package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.TandemPair;
import dev.tandem.node.daemon.ControlServer;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The lab's own monitors (LabConfig: link group 'uplinks', path group 'server' in compare mode,
 * weighted service check 'svc', self-checks) driving real failovers. Default profile, like the other
 * lab tests (see ControlLinkIT).
 */
class HealthMonitorIT {
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
    }

    @BeforeEach
    void clean() {
        lab.writeConfig(LabConfig.of(PROFILE));
        FailoverScenario.reset(lab);
    }

    private String status(String fw) {
        return LabFixture.status(lab, fw);
    }

    private static void awaitTrue(String what, int seconds, BooleanSupplier c) {
        Netns.await(what, Duration.ofSeconds(seconds), c);
    }

    private void startPair(TandemPair pair) {
        pair.start("fw1");
        awaitTrue("fw1 active", 15, () -> lab.active().equals("fw1"));
        pair.start("fw2");
        awaitTrue("fw2 passive, connected, with every monitor up", 15, () -> {
            String s = status("fw2");
            return s.contains("\"state\":\"PASSIVE\"") && s.contains("control link to fw1 (10.10.3.1): connected")
                    && !s.contains("\"up\":false") && !status("fw1").contains("\"up\":false");
        });
        Cmd.sleep(1500); // let the JVMs settle (see ControlLinkIT)
        awaitTrue("fw1 alone active", 5, () -> lab.active().equals("fw1"));
    }

    /** Samples the pair for ms: true if fw1 stayed the only active throughout. */
    private boolean fw1StaysActive(long ms) {
        for (long end = System.nanoTime() + ms * 1_000_000L; System.nanoTime() < end; ) {
            if (!lab.active().equals("fw1")) {
                return false;
            }
            Cmd.sleep(50);
        }
        return true;
    }

    @Test
    void wanLinkOfTheActiveDownMovesTheRole() {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            lab.setLink("fw1", "wan0", false);
            awaitTrue("fw2 active", 5, () -> lab.active().equals("fw2"));
            awaitTrue("fw1 in FAULT naming the link group", 3, () -> status("fw1").contains("\"state\":\"FAULT\"")
                    && status("fw1").contains("link group 'uplinks' down (interface wan0 down)"));
        }
    }

    @Test
    void theFirewallTableGoneIsAFaultOfTheSelfCheck() {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            try {
                Cmd.in(lab.ns("fw1"), "nft", "delete", "table", "inet", "tandem_fw");
                awaitTrue("fw2 active", 6, () -> lab.active().equals("fw2"));
                awaitTrue("fw1 in FAULT naming the table", 3, () -> status("fw1").contains("\"state\":\"FAULT\"")
                        && pair.log("fw1").contains("nftables table inet tandem_fw not loaded"));
            } finally {
                Cmd.in(lab.ns("fw1"), "nft", "-f", lab.runDir().resolve("ruleset.nft").toString());
            }
        }
    }

    @Test
    void serverUnreachableFromBothMovesNothing() {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            lab.blockServer("fw1", true);
            lab.blockServer("fw2", true);
            // 3 lost probes at 200 ms + additional master hold up 500 ms, and a margin
            assertThat(fw1StaysActive(3000)).as(pair.log("fw1")).isTrue();
            assertThat(status("fw2")).contains("\"state\":\"PASSIVE\"");
            assertThat(pair.log("fw1")).contains("path group 'server' down (3 of 3 probes to 10.10.2.100 failed")
                    .contains("fw2 cannot reach it either: no failover");
        }
    }

    @Test
    void serverUnreachableOnlyFromTheActiveMovesTheRole() {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            lab.blockServer("fw1", true);
            awaitTrue("fw2 active", 5, () -> lab.active().equals("fw2"));
            awaitTrue("fw1 FAULT, naming the group, the peer and the hold", 3, () -> pair.log("fw1").contains(
                    "fw1 ACTIVE -> FAULT: path group 'server' down (3 of 3 probes to 10.10.2.100 failed")
                    && pair.log("fw1").contains("fw2 reaches it; after additional master hold up 500 ms"));
            // the server answers again: after the hold down (3 s) fw1 is PASSIVE; preemption is off
            lab.blockServer("fw1", false);
            awaitTrue("fw1 back to PASSIVE", 8, () -> status("fw1").contains("\"state\":\"PASSIVE\""));
            assertThat(pair.log("fw1")).contains("monitor fail hold down of 3000.0 ms");
            assertThat(lab.active()).isEqualTo("fw2");
        }
    }

    @Test
    void flappingLanLinkSuspendsAfterTheFlapMaxAndResumeLiftsIt() throws Exception {
        lab.writeConfig(LabConfig.of(PROFILE).withHoldDownMs(300));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            for (int i = 1; i <= 3; i++) {
                lab.setLink("fw2", "lan0", false);
                int n = i;
                awaitTrue("fw2 FAULT or SUSPENDED (flap " + n + ")", 3, () -> status("fw2").matches(
                        "(?s).*\"state\":\"(FAULT|SUSPENDED)\".*"));
                lab.setLink("fw2", "lan0", true);
                if (i < 3) {
                    Netns.await("fw2 PASSIVE after the hold down (flap " + n + ")", Duration.ofSeconds(10),
                            () -> status("fw2").contains("\"state\":\"PASSIVE\""), () -> status("fw2") + "\n" + pair.log("fw2"));
                }
            }
            awaitTrue("fw2 SUSPENDED by the flap max", 3, () -> status("fw2").contains("\"state\":\"SUSPENDED\"")
                    && status("fw2").contains("\"suspended_by\":\"flap max\""));
            assertThat(pair.log("fw2")).contains("entered FAULT 3 times, each within 15 min of the previous (flap max 3)");
            Cmd.sleep(1000);
            assertThat(status("fw2")).as("stays suspended with the link up").contains("\"state\":\"SUSPENDED\"");
            assertThat(ControlServer.request(lab.runDir().resolve("fw2.sock"), "resume operator")).startsWith("ok");
            awaitTrue("fw2 PASSIVE after resume", 3, () -> status("fw2").contains("\"state\":\"PASSIVE\""));
            assertThat(lab.active()).isEqualTo("fw1");
        }
    }

    @Test
    void aFailingWeightedServiceCheckMovesTheRoleAndPreemptionOffKeepsItThere() {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            lab.setService("fw1", false);
            awaitTrue("fw2 active", 5, () -> lab.active().equals("fw2"));
            awaitTrue("fw1 PASSIVE at effective priority 150", 3, () -> status("fw1").contains("\"state\":\"PASSIVE\"")
                    && status("fw1").contains("\"effective_priority\":150"));
            assertThat(pair.log("fw1")).contains("fw2 has priority 200 > effective priority 150 of fw1 (service check "
                    + "'svc' down (2 failures in a row: exit 1");
            lab.setService("fw1", true);
            awaitTrue("fw1 back at priority 250", 5, () -> status("fw1").contains("\"effective_priority\":250"));
            Cmd.sleep(2000);
            assertThat(lab.active()).as("preemption off: fw2 keeps the role").isEqualTo("fw2");
        }
    }

    @Test
    void withPreemptionTheRecoveredNodeTakesTheRoleBackAfterTheHold() {
        lab.writeConfig(LabConfig.of(PROFILE).withPreempt(true, 2000));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            lab.setService("fw1", false);
            awaitTrue("fw2 active", 5, () -> lab.active().equals("fw2"));
            lab.setService("fw1", true);
            awaitTrue("fw1 back at priority 250", 5, () -> status("fw1").contains("\"effective_priority\":250"));
            long back = System.nanoTime();
            awaitTrue("fw1 preempts", 8, () -> lab.active().equals("fw1"));
            long waitedMs = (System.nanoTime() - back) / 1_000_000;
            assertThat(pair.log("fw1")).contains("preempting").contains("after the preemption hold of 2000.0 ms");
            // the hold counts from fw1's return to PASSIVE, which came before its priority recovered
            assertThat(waitedMs).as("no preemption long after the hold").isLessThan(4000);
        }
    }
}
