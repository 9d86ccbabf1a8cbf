package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.SessionFlows;
import dev.tandem.lab.TandemPair;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Established connections through the SNAT ruleset survive a crash of the active when sessions are
 * synced (and committed before the addresses move), and die without session sync: 200 long-lived
 * TCP connections and 20 UDP flows client -> server, each exchanging a message every 100 ms.
 */
class SessionSyncIT {
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

    private void crashFw1(TandemPair pair) {
        lab.cutDataPlane("fw1");
        pair.kill("fw1");
        for (String l : lab.firewallLinks()) {
            lab.setLink("fw1", l, false);
        }
    }

    private void startPair(TandemPair pair, boolean sessions) {
        pair.start("fw1");
        dev.tandem.node.it.Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
        pair.start("fw2");
        dev.tandem.node.it.Netns.await("fw2 passive" + (sessions ? " and SYNCED" : ""), Duration.ofSeconds(20),
                () -> status("fw2").contains("\"state\":\"PASSIVE\"")
                        && (!sessions || status("fw2").contains("\"session_sync\":\"SYNCED\"")));
    }

    @Test
    void syncedSessionsSurviveACrashAndAFailbackWithoutADrop() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("default").withPreempt(true, 3000));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair, true);
            SessionFlows flows = new SessionFlows(lab, TCP, UDP);
            try (flows) {
            dev.tandem.node.it.Netns.await("fw2 caches the flows", Duration.ofSeconds(10),
                    () -> status("fw2").matches("(?s).*sessions cached: (2[2-9][0-9]|[3-9][0-9][0-9]).*"));
            lab.resetNoSessionDrops("fw2");
            long crash = System.nanoTime();
            crashFw1(pair);
            dev.tandem.node.it.Netns.await("fw2 holds the VIPs", Duration.ofSeconds(5), () -> Cmd.hasAddress(lab.ns("fw2"),
                    "lan0", LabTopology.LAN_VIP) && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP),
                    () -> "active: " + lab.active() + "\nfw2 status: " + status("fw2") + "\n" + pair.log("fw2"));
            Cmd.sleep(3000);
            assertThat(flows.broken()).as(flows.errors().toString()).isZero();
            assertThat(flows.aliveSince(crash + 1_500_000_000L)).as("TCP flows still exchanging data").isEqualTo(TCP);
            assertThat(flows.udpAliveSince(crash + 1_500_000_000L)).as("UDP flows").isEqualTo(UDP);
            assertThat(lab.noSessionDrops("fw2")).as("packets fw2 dropped for lack of a session").isZero();
            assertThat(pair.log("fw2")).containsPattern("committed (2[2-9][0-9]|[3-9][0-9][0-9]) synced sessions");

            // failback: fw1 returns, gets the table from fw2 (bulk), then preempts after the hold
            lab.restoreDataPlane("fw1");
            for (String l : lab.firewallLinks()) {
                lab.setLink("fw1", l, true);
            }
            Cmd.sleep(300);
            lab.resetNoSessionDrops("fw1");
            pair.start("fw1");
            dev.tandem.node.it.Netns.await("fw1 preempts", Duration.ofSeconds(20), () -> lab.active().equals("fw1"));
            long back = System.nanoTime();
            Cmd.sleep(3000);
            assertThat(flows.broken()).as(flows.errors().toString()).isZero();
            assertThat(flows.aliveSince(back + 1_500_000_000L)).as("TCP flows after the failback").isEqualTo(TCP);
            assertThat(flows.udpAliveSince(back + 1_500_000_000L)).as("UDP flows after the failback").isEqualTo(UDP);
            assertThat(lab.noSessionDrops("fw1")).isZero();
            }
        } finally {
            lab.writeConfig(LabConfig.of("default"));
        }
    }

    @Test
    void withoutSessionSyncTheSameCrashBreaksTheConnections() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("default").withSessions(false));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair, false);
            SessionFlows flows = new SessionFlows(lab, TCP, UDP);
            try (flows) {
            Cmd.sleep(1000);
            lab.resetNoSessionDrops("fw2");
            long crash = System.nanoTime();
            crashFw1(pair);
            dev.tandem.node.it.Netns.await("fw2 holds the VIPs", Duration.ofSeconds(5), () -> Cmd.hasAddress(lab.ns("fw2"),
                    "lan0", LabTopology.LAN_VIP) && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP),
                    () -> "active: " + lab.active() + "\nfw2 status: " + status("fw2") + "\n" + pair.log("fw2"));
            Cmd.sleep(3000);
            assertThat(flows.aliveSince(crash + 1_500_000_000L)).as("TCP flows still alive without sync").isZero();
            assertThat(lab.noSessionDrops("fw2")).as("packets fw2 dropped for lack of a session").isPositive();
            }
        } finally {
            lab.writeConfig(LabConfig.of("default"));
        }
    }
}
