package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.TandemPair;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Configuration sync in the lab: fw1 (role primary) owns &lt;runDir&gt;/ruleset.nft; rules committed
 * there reach fw2's nftables and are enforced after a failover. Default profile.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConfigSyncIT {
    private static LabTopology lab;
    private static DatagramSocket echo;

    @BeforeAll
    static void up() throws Exception {
        lab = LabFixture.uniqueLab();
        lab.up(LabConfig.of("default"));
        echo = dev.tandem.linux.Netns.callIn(lab.ns("server"), () -> new DatagramSocket(new InetSocketAddress("10.10.2.100", 9999)));
        Thread.ofPlatform().daemon(true).start(() -> {
            byte[] b = new byte[512];
            while (!echo.isClosed()) {
                try {
                    DatagramPacket p = new DatagramPacket(b, b.length);
                    echo.receive(p);
                    echo.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                } catch (Exception e) {
                    // closed
                }
            }
        });
    }

    @AfterAll
    static void down() {
        if (echo != null) {
            echo.close();
        }
        if (lab != null) {
            lab.down();
        }
    }

    /** One small UDP probe from the client to the server's port 9999 (a new flow each time). */
    private static boolean probe() {
        try {
            return dev.tandem.linux.Netns.callIn(lab.ns("client"), () -> {
                try (DatagramSocket d = new DatagramSocket()) {
                    d.setSoTimeout(400);
                    d.send(new DatagramPacket(new byte[]{1, 2, 3}, 3, new InetSocketAddress("10.10.2.100", 9999)));
                    d.receive(new DatagramPacket(new byte[16], 16));
                    return true;
                } catch (java.net.SocketTimeoutException e) {
                    return false;
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String req(String fw, String line) {
        return LabFixture.request(lab, fw, line);
    }

    private static String nft(String fw) {
        return Cmd.in(lab.ns(fw), "nft", "list", "ruleset");
    }

    private static void await(String what, int seconds, BooleanSupplier c) {
        Netns.await(what, Duration.ofSeconds(seconds), c);
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static Path write(String name, String text) throws Exception {
        Path f = lab.runDir().resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    @Order(1)
    void rulesFromThePrimaryReachThePeerAndHoldAfterFailover() throws Exception {
        String base = LabTopology.syncedRuleset();
        String drop = base.replace("ct state established,related accept",
                "udp dport 9999 drop\n    ct state established,related accept");
        Path dropFile = write("drop.nft", drop);
        Path badFile = write("bad.nft", base.replace("policy drop;", "policy dorp;"));
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            await("fw1 active", 15, () -> lab.active().equals("fw1"));
            pair.start("fw2");
            await("fw2 IN_SYNC with fw1's version 1", 20, () -> req("fw2", "status-json")
                    .contains("\"config_sync\":{\"state\":\"IN_SYNC\",\"version\":1"));
            assertThat(probe()).as("UDP to 9999 passes before the rule").isTrue();

            String ok = req("fw1", "config-apply " + dropFile + " | it");
            assertThat(ok).as(pair.log("fw1")).startsWith("ok: config 2/");
            await("the drop rule on fw2", 10, () -> nft("fw2").contains("udp dport 9999 drop"));
            await("fw2 IN_SYNC at 2", 10, () -> req("fw2", "status-json").contains("\"state\":\"IN_SYNC\",\"version\":2"));
            assertThat(probe()).as("dropped on fw1").isFalse();

            String bad = req("fw1", "config-apply " + badFile + " | it");
            assertThat(bad).startsWith("error: the ruleset does not load, nothing changed").contains("dorp");
            assertThat(req("fw1", "config-history")).doesNotContain("\n3 ");
            assertThat(Files.readString(lab.runDir().resolve("ruleset.nft"))).isEqualTo(drop);
            assertThat(nft("fw1")).contains("udp dport 9999 drop");

            assertThat(req("fw2", "config-commit | it")).startsWith("error: fw2 is not the configuration primary")
                    .contains("on fw1");

            assertThat(req("fw1", "demote it")).startsWith("ok");
            Netns.await("fw2 active", Duration.ofSeconds(10), () -> lab.active().equals("fw2"),
                    () -> "fw1:\n" + pair.log("fw1") + "\nfw2:\n" + pair.log("fw2"));
            Cmd.sleep(500);
            assertThat(probe()).as("still dropped on fw2 after the failover").isFalse();

            assertThat(req("fw1", "config-rollback 1 | it")).startsWith("ok: config rolled back");
            await("rule gone on fw2", 10, () -> !nft("fw2").contains("9999"));
            assertThat(nft("fw1")).doesNotContain("9999");
            await("UDP passes again through fw2", 5, ConfigSyncIT::probe);

            pair.stopGracefully("fw2");
            assertThat(req("fw1", "config-apply " + dropFile + " | it")).startsWith("ok: config 4/");
            assertThat(nft("fw2")).doesNotContain("9999");
            pair.start("fw2");
            await("fw2 gets version 4 on return", 20, () -> nft("fw2").contains("udp dport 9999 drop")
                    && req("fw2", "status-json").contains("\"state\":\"IN_SYNC\",\"version\":4"));
            assertThat(pair.log("fw2")).contains("config 4/");

            // the shared part of the cluster file travels; each node's nodes: block stays its own
            Path f1 = lab.configFile("fw1");
            Path f2 = lab.configFile("fw2");
            Files.writeString(f2, Files.readString(f2).replace("nodes:\n", "nodes:\n  # fw2's own values\n"));
            Files.writeString(f1, Files.readString(f1).replace("preempt: false", "preempt: true  # shared change")
                    .replace("nodes:\n", "nodes:\n  # fw1's own values\n"));
            assertThat(req("fw1", "config-commit | it")).startsWith("ok: config 5/");
            await("fw2's file has the shared change", 10, () -> read(f2).contains("preempt: true  # shared change"));
            assertThat(read(f2)).contains("# fw2's own values").doesNotContain("fw1's own values");
            await("fw2 IN_SYNC at 5, restart pending for cluster.preempt", 10, () -> req("fw2", "status-json")
                    .contains("\"state\":\"IN_SYNC\",\"version\":5"));
            assertThat(req("fw2", "status-json")).contains("\"restart_pending\":[\"cluster.preempt\"]");
            assertThat(pair.log("fw2")).contains("changes [cluster.preempt]");

            // a shared part that does not load is refused on the primary; nothing moves
            String before2 = read(f2);
            Files.writeString(f1, read(f1).replace("vrid: 51", "vrid: 300"));
            assertThat(req("fw1", "config-commit | it")).startsWith("error: the cluster file").contains("vrid");
            assertThat(req("fw1", "config-history")).doesNotContain("\n6 ");
            Cmd.sleep(300);
            assertThat(read(f2)).isEqualTo(before2);
        }
    }

    /**
     * A declared file and its reload command. Each firewall needs its own copy of the same path, as on
     * real hosts: `ip netns exec` bind-mounts /etc/netns/NS/ENTRY over /etc/ENTRY for the daemon it
     * starts, so /etc/tandem-lab-PREFIX/ is a different directory for fw1 and for fw2.
     */
    @Test
    @Order(2)
    void aDeclaredFileAndItsReloadCommandReachThePeer() throws Exception {
        String name = "tandem-lab-" + lab.prefix().replace("-", "");
        Path mountPoint = Path.of("/etc", name);
        Path dir1 = Path.of("/etc/netns", lab.ns("fw1"), name);
        Path dir2 = Path.of("/etc/netns", lab.ns("fw2"), name);
        String original = Files.readString(lab.configFile());
        try {
            Files.createDirectories(mountPoint);
            for (Path d : java.util.List.of(dir1, dir2)) {
                Files.createDirectories(d);
                Files.writeString(d.resolve("dns.conf"), "server=10.10.2.100\n");
            }
            String file = mountPoint.resolve("dns.conf").toString();
            String reloads = mountPoint.resolve("reloads").toString();
            String cfg = original.replace("ruleset: " + lab.runDir() + "/ruleset.nft}", "ruleset: " + lab.runDir()
                    + "/ruleset.nft,\n    files: [{path: " + file + ", reload: [/bin/sh, -c, 'echo reloaded >> " + reloads
                    + "']}]}");
            assertThat(cfg).contains("files: [");
            lab.writeConfigText(cfg);
            try (TandemPair pair = new TandemPair(lab)) {
                pair.start("fw1");
                await("fw1 active", 15, () -> lab.active().equals("fw1"));
                pair.start("fw2");
                await("fw2 IN_SYNC", 20, () -> req("fw2", "status-json").contains("\"config_sync\":{\"state\":\"IN_SYNC\""));
                assertThat(Files.exists(dir2.resolve("reloads"))).as("same content: nothing written, no reload").isFalse();

                Files.writeString(dir1.resolve("dns.conf"), "server=10.10.2.100\nserver=10.10.2.101\n");
                assertThat(req("fw1", "config-commit | it")).as(pair.log("fw1")).startsWith("ok: config ");
                await("fw2's copy changed and its reload ran", 10, () -> read(dir2.resolve("dns.conf")).contains("10.10.2.101")
                        && read(dir2.resolve("reloads")).equals("reloaded\n"));
                assertThat(Files.exists(dir1.resolve("reloads"))).as("the primary's reload is the operator's").isFalse();
                await("fw2's event naming the file", 5, () -> pair.log("fw2").lines().anyMatch(l -> l.contains(" applied (")
                        && l.contains("file:" + file)));
            }
        } finally {
            lab.writeConfigText(original);
            for (Path p : java.util.List.of(dir1.getParent(), dir2.getParent(), mountPoint)) {
                Cmd.run("rm", "-rf", p.toString());
            }
        }
    }
}
