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

    /** n idle synthetic SNAT sessions (600 s) created in fw1's kernel at once (its daemon syncs them as they come). */
    private void createSessionsInFw1(int n) {
        dev.tandem.linux.ConntrackSocket.BatchResult made = dev.tandem.linux.Netns.callIn(lab.ns("fw1"), () -> {
            try (dev.tandem.linux.ConntrackSocket ct = dev.tandem.linux.ConntrackSocket.open()) {
                return ct.create(dev.tandem.lab.SyntheticSessions.range(0, n, 600));
            }
        });
        assertThat(made.failures()).isEmpty();
    }

    /** Empties the conntrack table of each firewall's namespace (what a test left there). */
    private void flushConntrack(String... fws) {
        for (String fw : fws) {
            dev.tandem.linux.Netns.callIn(lab.ns(fw), () -> {
                try (dev.tandem.linux.ConntrackSocket ct = dev.tandem.linux.ConntrackSocket.open()) {
                    ct.flush();
                }
                return null;
            });
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
            // fw1's kernel refreshes a live session with every packet and says nothing (no event once it is
            // established or assured): with 4 s timeouts there, fw2 must keep the flows well past their
            // timeout because fw1 is heard (before, fw2's cache forgot them 4 s after their last event)
            LabFixture.shortConntrackTimeouts(lab, "fw1", true);
            SessionFlows flows = new SessionFlows(lab, TCP, UDP);
            try (flows) {
            dev.tandem.node.it.Netns.await("fw2 caches the flows", Duration.ofSeconds(10),
                    () -> status("fw2").matches("(?s).*sessions cached: (2[2-9][0-9]|[3-9][0-9][0-9]).*"));
            Cmd.sleep(4_000 + 10_000 + 1_000); // their timeout, a sweep of fw2's cache (every 10 s), a margin
            // the figures per peer (issue 5): entries and entries a second, lag, queue, resends, last bulk
            assertThat(status("fw1")).containsPattern("sessions to fw2: streaming, \\d+ entries sent \\(\\d+/s\\), lag \\d+ µs "
                    + "\\(p50 \\d+ µs, p99 \\d+ µs, max \\d+ µs over the last \\d+ batches\\), queue \\d+ batches, resends \\d+, "
                    + "last bulk \\d+ entries \\d+ s ago");
            assertThat(status("fw2")).containsPattern("changes applied \\d+ \\(\\d+/s\\)");
            assertThat(status("fw2")).as("fw2 still caches the flows, unchanged for longer than their timeout")
                    .matches("(?s).*sessions cached: (2[2-9][0-9]|[3-9][0-9][0-9]) \\(SYNCED\\).*");
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
            LabFixture.shortConntrackTimeouts(lab, "fw1", false);
            lab.writeConfig(LabConfig.of("default"));
        }
    }

    /**
     * A takeover whose commit takes longer than the peers' silence windows (60,000 sessions, about 120 ms
     * and more; aggressive timers with adverts every 50 ms: the demoted fw1 judges fw2 silent after at most
     * 100 ms): the new active's adverts and heartbeats go on while the commit runs on the commit thread,
     * and its addresses come after it. Found in the lab before: fw2 committed on its loop, sent nothing
     * meanwhile, and the demoted fw1 took the role back. (With 10 ms adverts, a window of 11-20 ms, the
     * test also failed now and then in the full suite: both firewalls share this machine's 2 CPUs with
     * the commit, and a stall of 20-35 ms of one of them was enough.)
     */
    @Test
    void aDemoteHoldsWhileTheNewActiveCommitsALargeTable() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("aggressive").withAdvertMs(50));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair, true);
            int n = 60_000;
            createSessionsInFw1(n);
            dev.tandem.node.it.Netns.await("fw2 caches the 60,000 sessions", Duration.ofSeconds(30),
                    () -> status("fw2").matches("(?s).*sessions cached: 600[0-9][0-9].*"), () -> status("fw2"));
            LabFixture.awaitFw2ReadyToTakeOver(lab);
            int mark1 = pair.log("fw1").length(); // the logs go on from the earlier tests: this one's part only
            int mark2 = pair.log("fw2").length();
            assertThat(LabFixture.request(lab, "fw1", "demote it")).startsWith("ok");
            dev.tandem.node.it.Netns.await("fw2 holds the VIPs", Duration.ofSeconds(10), () -> Cmd.hasAddress(lab.ns("fw2"),
                    "lan0", LabTopology.LAN_VIP) && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP),
                    () -> "active: " + lab.active() + "\nfw1 since the demote:\n" + pair.log("fw1").substring(mark1)
                            + "\nfw2 since the demote:\n" + pair.log("fw2").substring(mark2));
            Cmd.sleep(1000);
            String fw1 = pair.log("fw1").substring(mark1);
            String fw2 = pair.log("fw2").substring(mark2);
            assertThat(lab.active()).as("fw2 stays active; fw1 since the demote:\n%s\nfw2 since the demote:\n%s",
                    fw1, fw2).isEqualTo("fw2");
            assertThat(status("fw1")).contains("\"state\":\"PASSIVE\"");
            assertThat(fw1.substring(fw1.indexOf("demoted by"))).as("fw1 never took the role back")
                    .doesNotContain("PASSIVE -> ACTIVE");
            assertThat(fw2).as("the commit ran beside the adverts").contains("synced sessions on the commit thread")
                    .containsPattern("committed 600[0-9][0-9] synced sessions");
            assertThat(fw2.substring(fw2.indexOf("PASSIVE -> ACTIVE"))).as("no role change after the takeover")
                    .doesNotContain("ACTIVE -> PASSIVE");
        } finally {
            lab.writeConfig(LabConfig.of("default"));
            flushConntrack("fw1", "fw2");
        }
    }

    /**
     * Changes dropped between fw1's event reader and its sync loop (the queue full: here made 64 long so that a
     * burst of 20,000 new sessions overflows it) are lost to fw2 like an overrun's, and resynced like one: fw2
     * ends up with every session. (Before, the drops were only counted and fw2 missed those sessions.)
     */
    @Test
    void changesDroppedAtTheFullQueueAreResynced() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("default"));
        int n = 20_000;
        try (TandemPair pair = new TandemPair(lab).jvmOptions("fw1", "-Dtandem.sessions.change_queue=64")) {
            startPair(pair, true);
            createSessionsInFw1(n);
            dev.tandem.node.it.Netns.await("fw2 caches the 20,000 sessions", Duration.ofSeconds(30),
                    () -> status("fw2").matches("(?s).*sessions cached: 2[0-9]{4} \\(SYNCED\\).*"),
                    () -> status("fw2") + "\n" + status("fw1"));
            assertThat(status("fw1")).as("the queue overflowed").containsPattern("queue drops [1-9]");
            assertThat(pair.log("fw1")).contains("conntrack changes were dropped at the full queue (64 changes");
        } finally {
            flushConntrack("fw1");
        }
    }

    /** A cache too small for the table keeps what fits, counts the rest and says so in a WARNING event. */
    @Test
    void aFullCacheSaysWhatItCouldNotKeep() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("default").withSessionMaxEntries(1000));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair, true);
            createSessionsInFw1(1500);
            // the cache is swept every 10 s (cache mode): the warning comes with the first sweep after the drops
            dev.tandem.node.it.Netns.await("fw2 warns that its cache is full", Duration.ofSeconds(15),
                    () -> pair.log("fw2").contains("session sync: the cache is full (1000 of 1000 sessions)"),
                    () -> status("fw2"));
            assertThat(pair.log("fw2")).containsPattern("WARNING fw2 session sync: the cache is full \\(1000 of 1000 sessions\\): "
                    + "5[0-9][0-9] sessions were not kept since the last warning \\(5[0-9][0-9] in all\\) and would break at a "
                    + "takeover; raise cluster.sessions.max_entries");
            assertThat(status("fw2")).contains("\"cached\":1000,\"cache_dropped\":5");
        } finally {
            lab.writeConfig(LabConfig.of("default"));
            flushConntrack("fw1");
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
