package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Tandem node and a keepalived 2.2.7 node (Debian's, `vrrp_version 3`) in one VG on one segment,
 * in both priority orders: each side fails over to the other and back.
 */
class KeepalivedInteropIT {
    private static final String VIP = "10.77.0.254";
    @TempDir
    Path dir;
    private Netns nets;
    private String nsT;
    private String nsK;

    @BeforeEach
    void topology() {
        nets = new Netns("ka");
        nsT = nets.add("t");
        nsK = nets.add("k");
        Cmd.sh("ip", "link", "add", nets.prefix + "t0", "netns", nsT, "type", "veth", "peer", "name",
                nets.prefix + "k0", "netns", nsK);
        Cmd.sh("ip", "-n", nsT, "link", "set", nets.prefix + "t0", "name", "eth0");
        Cmd.sh("ip", "-n", nsK, "link", "set", nets.prefix + "k0", "name", "eth0");
        Cmd.sh("ip", "-n", nsT, "addr", "add", "10.77.0.1/24", "dev", "eth0");
        Cmd.sh("ip", "-n", nsK, "addr", "add", "10.77.0.2/24", "dev", "eth0");
        Cmd.sh("ip", "-n", nsT, "link", "set", "eth0", "up");
        Cmd.sh("ip", "-n", nsK, "link", "set", "eth0", "up");
    }

    @AfterEach
    void teardown() {
        nets.close();
    }

    private Path tandemConfig(int priority, boolean preempt) throws Exception {
        Path f = dir.resolve("tandem.yaml");
        Files.writeString(f, """
                cluster:
                  name: interop
                  profile: default
                  timers: {advert_interval_ms: 100, preemption_hold_ms: 300}
                  preempt: %s
                  run_dir: %s
                operator: {state_dir: %s}
                virtual_groups:
                  - name: vg1
                    vrid: 77
                    segments:
                      - interface: lan
                        addresses: [%s/24]
                nodes:
                  t1: {role: primary, priority: %d, interfaces: {lan: eth0}}
                """.formatted(preempt, dir.resolve("run"), dir.resolve("state"), VIP, priority));
        return f;
    }

    private Process keepalived(int priority) throws Exception {
        Path conf = dir.resolve("keepalived.conf");
        Files.writeString(conf, """
                global_defs {
                  router_id interop_k
                  vrrp_version 3
                }
                vrrp_instance VI_77 {
                  state BACKUP
                  interface eth0
                  virtual_router_id 77
                  priority %d
                  advert_int 0.1
                  virtual_ipaddress {
                    %s/24
                  }
                }
                """.formatted(priority, VIP));
        return nets.spawn(nsK, dir.resolve("keepalived.log"), List.of("keepalived", "--dont-fork", "--log-console",
                "--log-detail", "--vrrp", "-f", conf.toString(), "-p", dir.resolve("ka.pid").toString(),
                "-r", dir.resolve("ka-vrrp.pid").toString()));
    }

    private boolean tandemHolds() {
        return Cmd.hasAddress(nsT, "eth0", VIP);
    }

    private boolean keepalivedHolds() {
        return Cmd.hasAddress(nsK, "eth0", VIP);
    }

    private String logs(TandemProcess t) {
        return "\n--- tandem ---\n" + t.output() + "\n--- keepalived ---\n" + Netns.log(dir.resolve("keepalived.log"));
    }

    @Test
    void tandemHigherPriorityFailsOverToKeepalivedAndBack() throws Exception {
        Path cfg = tandemConfig(200, true);
        TandemProcess t = TandemProcess.start(nets, nsT, cfg, "t1", dir);
        Netns.await("tandem active", Duration.ofSeconds(5), this::tandemHolds);
        Process k = keepalived(100);
        Thread.sleep(1500); // keepalived listens, sees the higher priority, stays backup
        assertThat(keepalivedHolds()).as("keepalived must stay backup" + logs(t)).isFalse();
        assertThat(tandemHolds()).isTrue();

        assertThat(t.terminate()).isZero(); // priority 0: keepalived takes over after its skew time
        Netns.await("keepalived takes over" + logs(t), Duration.ofSeconds(3), this::keepalivedHolds);
        assertThat(tandemHolds()).isFalse();

        TandemProcess t2 = TandemProcess.start(nets, nsT, cfg, "t1", dir); // preempts after its hold
        Netns.await("tandem preempts back" + logs(t2), Duration.ofSeconds(6), () -> tandemHolds() && !keepalivedHolds());
        Thread.sleep(500);
        assertThat(keepalivedHolds()).as(logs(t2)).isFalse();
        assertThat(t2.output()).doesNotContain("REJECTED_PACKET");
        k.destroy();
    }

    @Test
    void keepalivedHigherPriorityFailsOverToTandemAndBack() throws Exception {
        Process k = keepalived(200);
        Netns.await("keepalived master", Duration.ofSeconds(6), this::keepalivedHolds);
        TandemProcess t = TandemProcess.start(nets, nsT, tandemConfig(100, false), "t1", dir);
        Netns.await("tandem passive" + logs(t), Duration.ofSeconds(10), () -> t.output().contains("INITIAL -> PASSIVE"));
        Thread.sleep(500);
        assertThat(tandemHolds()).as("tandem must stay passive" + logs(t)).isFalse();

        k.destroy(); // SIGTERM: keepalived sends priority 0
        Netns.await("tandem takes over" + logs(t), Duration.ofSeconds(3), this::tandemHolds);
        assertThat(t.output()).contains("released the role");
        assertThat(k.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).as("keepalived stopped").isTrue();

        keepalived(200); // keepalived preempts by default
        Netns.await("keepalived preempts back" + logs(t), Duration.ofSeconds(8), () -> keepalivedHolds() && !tandemHolds());
        assertThat(t.output()).contains("higher priority 200");
        assertThat(t.output()).doesNotContain("REJECTED_PACKET");
        t.terminate();
    }
}
