package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.ha.Input;
import dev.tandem.lab.Cmd;
import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.Fault;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.ProbeStream;
import dev.tandem.lab.TandemPair;
import dev.tandem.linux.Netns;
import dev.tandem.node.channel.PeerChannel;
import dev.tandem.node.channel.Pki;
import dev.tandem.node.daemon.ControlServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The peer channel on the lab: control link 10.10.3.0/30, backup link over the data link 10.10.4.0/30. */
class ControlLinkIT {
    /**
     * Behaviour is tested at the default profile (300 ms adverts, 100 ms heartbeats): on the shared
     * 2-core CI host, the aggressive profile's 10 ms / 2 ms timing is disturbed by the other JVMs of
     * the suite often enough to make these tests flaky. Speed is measured by `tandem bench`.
     */
    static final String PROFILE = "default";
    private static LabTopology lab;
    @TempDir
    Path tmp;

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
        Cmd.run("ip", "netns", "exec", lab.ns("fw2"), "nft", "delete", "table", "inet", "cut");
    }

    private String status(String fw) {
        return LabFixture.status(lab, fw);
    }

    private void startPair(TandemPair pair) {
        pair.start("fw1");
        Netns.class.getName(); // (linux Netns is used by the version test)
        awaitTrue("fw1 active", 15, () -> lab.active().equals("fw1"));
        pair.start("fw2");
        awaitTrue("fw2 passive with both links connected", 15, () -> status("fw2").contains("\"state\":\"PASSIVE\"")
                && status("fw2").contains("control link to fw1 (10.10.3.1): connected, mutual TLS 1.3")
                && status("fw2").contains("backup link to fw1 (10.10.4.1): connected, mutual TLS 1.3"));
        // let the JVMs settle (JIT, TLS handshakes): on 2 shared cores their start-up can hold the active's
        // loop long enough to fake its death for a moment; the scenarios start from a settled pair
        Cmd.sleep(1500);
        awaitTrue("fw1 alone active", 5, () -> lab.active().equals("fw1"));
    }

    private static void awaitTrue(String what, int seconds, java.util.function.BooleanSupplier c) {
        dev.tandem.node.it.Netns.await(what, Duration.ofSeconds(seconds), c);
    }

    /** Watches for two actives for a while; returns how many 5 ms samples saw both. */
    private int dualActiveSamples(long ms) {
        int both = 0;
        for (long end = System.nanoTime() + ms * 1_000_000L; System.nanoTime() < end; ) {
            if (lab.active().equals("both")) {
                both++;
            }
            Cmd.sleep(20); // each sample runs `ip` twice: sampling faster would load the 2 CPUs itself
        }
        return both;
    }

    @Test
    void losingTheControlLinkAloneOrWithTheBackupKeepsOneActiveAndRaisesAlarms() {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            lab.setLink("fw2", "ctl0", false);
            assertThat(dualActiveSamples(2000)).as(pair.log("fw2")).isZero();
            awaitTrue("fw2 alarm for the control link", 3, () -> pair.log("fw2").contains("ALARM fw2: control link to fw1 is silent")
                    && pair.log("fw2").contains("staying PASSIVE"));
            lab.setLink("fw2", "data0", false);
            assertThat(dualActiveSamples(2000)).as(pair.log("fw2")).isZero();
            assertThat(lab.active()).isEqualTo("fw1");
            awaitTrue("fw2 alarm for the backup link", 3, () -> pair.log("fw2").contains("ALARM fw2: backup link to fw1 is silent"));
            assertThat(status("fw2")).contains("\"state\":\"PASSIVE\"");
        }
    }

    @Test
    void everyPathCutPromotesThePassiveAndHealingLeavesOneActive() throws Exception {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            // the client talks to the VIP, so it has a neighbour entry that GARPs can move
            Cmd.in(lab.ns("client"), "ping", "-c", "1", "-W", "1", LabTopology.LAN_VIP);
            Path cut = tmp.resolve("cut.nft");
            Files.writeString(cut, """
                    table inet cut {
                      chain in { type filter hook input priority -300; meta l4proto vrrp drop; }
                      chain out { type filter hook output priority -300; meta l4proto vrrp drop; }
                    }
                    """);
            Cmd.in(lab.ns("fw2"), "nft", "-f", cut.toString());
            lab.setLink("fw2", "ctl0", false);
            lab.setLink("fw2", "data0", false);
            awaitTrue("fw2 promotes once every path is silent", 10, () -> status("fw2").contains("\"state\":\"ACTIVE\""));
            awaitTrue("fw2 logged why", 3, () -> pair.log("fw2").contains("active silent on every path"));
            Cmd.in(lab.ns("fw2"), "nft", "delete", "table", "inet", "cut");
            long healed = System.nanoTime();
            awaitTrue("one active again", 5, () -> lab.active().equals("fw1"));
            long ms = (System.nanoTime() - healed) / 1_000_000;
            System.out.println("split healed: fw2 stepped down " + ms + " ms after the adverts flowed again");
            // (events are written just after the network actions of a step: wait for them, do not race them)
            awaitTrue("fw2 logged its step-down", 3, () -> pair.log("fw2").contains("ACTIVE -> PASSIVE"));
            awaitTrue("fw1 logged its re-announcement", 3, () -> pair.log("fw1").contains("re-announcing"));
            // the client follows fw1 again (GARP): its neighbour entry for the VIP holds fw1's MAC
            String mac = Cmd.sh("ip", "-n", lab.ns("fw1"), "-o", "link", "show", "lan0")
                    .replaceAll("(?s).*link/ether ([0-9a-f:]{17}).*", "$1");
            awaitTrue("client neighbour entry follows fw1", 3, () -> Cmd.sh("ip", "-n", lab.ns("client"), "neigh", "show",
                    LabTopology.LAN_VIP).contains(mac));
        }
    }

    @Test
    void aDaemonKilledWhileItsHostStaysUpIsReplacedQuickly() {
        ProbeStream.Result r = FailoverScenario.run(lab, new TandemPair(lab), Fault.DAEMON_CRASH, false, System.out);
        assertThat(r.outageMs()).isLessThan(200); // the VIPs stay on the live host until fw2 announces
    }

    @Test
    void aCertificateFromAnotherCaIsRefused() throws Exception {
        Path foreign = tmp.resolve("foreign");
        Pki.init(foreign, "someone-else");
        Pki.issue(foreign, "fw2");
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            awaitTrue("fw1 active", 15, () -> lab.active().equals("fw1"));
            // an impostor on fw2's addresses, with a certificate named fw2 from another CA
            PeerChannel impostor = fakePeer("0.1.0", foreign, new CopyOnWriteArrayList<>());
            try {
                dev.tandem.node.it.Netns.await("fw1 refuses the impostor's certificate", Duration.ofSeconds(10),
                        () -> pair.log("fw1").contains("control link to fw2 refused: TLS handshake"), () -> pair.log("fw1"));
                assertThat(status("fw1")).contains("control link to fw2 (10.10.3.2): down");
            } finally {
                impostor.close();
            }
        }
    }

    private PeerChannel fakePeer(String version, Path pkiDir, List<String> events) {
        return Netns.callIn(lab.ns("fw2"), () -> {
            PeerChannel c = new PeerChannel("fw2", version, Pki.context(pkiDir, "fw2"), 7400,
                    List.of(new PeerChannel.PathSpec("control", "10.10.3.2", Map.of("fw1", "10.10.3.1"))),
                    new PeerChannel.Sink() {
                        public void input(Input in) { }

                        public void event(String kind, String text) {
                            events.add(kind + " " + text);
                        }

                        public void command(Input.CommandKind kind, String who) { }
                    }, () -> List.of("fw2", "secondary", "PASSIVE", "200", version, "", "", ""));
            c.start();
            return c;
        });
    }

    @Test
    void aPeerWithAnotherMajorMinorVersionIsRefusedOnBothSides() throws Exception {
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            awaitTrue("fw1 active", 15, () -> lab.active().equals("fw1"));
            List<String> fakeEvents = new CopyOnWriteArrayList<>();
            PeerChannel fake = fakePeer("0.2.0", lab.runDir().resolve("pki"), fakeEvents);
            try {
                awaitTrue("fw1 refuses the 0.2.0 peer", 10, () -> pair.log("fw1").contains("refusing fw2")
                        && pair.log("fw1").contains("0.2.0 differs from 0.1.0 in major.minor"));
                awaitTrue("the 0.2.0 peer refuses fw1 too", 5, () -> fakeEvents.stream()
                        .anyMatch(e -> e.contains("refusing fw1") && e.contains("major.minor")));
            } finally {
                fake.close();
            }
        }
    }

    @Test
    void demoteSuspendResumeTravelOverTheChannel() throws Exception {
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair);
            Path fw2sock = lab.runDir().resolve("fw2.sock");
            assertThat(ControlServer.request(fw2sock, "demote@fw1 tester")).startsWith("ok");
            awaitTrue("fw2 active after fw1's demote", 5, () -> lab.active().equals("fw2"));
            awaitTrue("fw1 logged who demoted it", 2, () -> pair.log("fw1").contains("demote requested by tester on fw2 via fw2"));
            assertThat(ControlServer.request(fw2sock, "suspend@fw1 tester")).startsWith("ok");
            awaitTrue("fw1 suspended", 3, () -> status("fw1").contains("\"state\":\"SUSPENDED\""));
            assertThat(ControlServer.request(fw2sock, "resume@fw1 tester")).startsWith("ok");
            awaitTrue("fw1 passive again", 3, () -> status("fw1").contains("\"state\":\"PASSIVE\""));
            awaitTrue("fw1 logged who resumed it", 2, () -> pair.log("fw1").contains("resume requested by tester on fw2 via fw2"));
        }
    }
}
