package dev.tandem.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * keepalived (Debian's 2.2.7, VRRPv3) on the same lab with the same VIPs, priorities and advert
 * interval: a sync group of LAN and WAN instances, IPv4 and IPv6 — the comparison baseline.
 */
public final class KeepalivedPair extends ProcessPair {
    private final LabConfig config;
    private final java.util.function.Function<String, Path> notify;

    public KeepalivedPair(LabTopology lab, LabConfig config) {
        this(lab, config, null);
    }

    /**
     * notify: per firewall, a script the sync group calls with "primary", "backup" or "fault" on its
     * transitions (conntrackd's primary-backup.sh convention); null for none.
     */
    public KeepalivedPair(LabTopology lab, LabConfig config, java.util.function.Function<String, Path> notify) {
        super(lab);
        this.config = config;
        this.notify = notify;
    }

    @Override
    public String name() {
        return "keepalived";
    }

    public static boolean installed() {
        return Cmd.run("sh", "-c", "command -v keepalived").code() == 0;
    }

    String conf(String fw) {
        int prio = fw.equals("fw1") ? 250 : 200;
        String interval = String.format(Locale.ROOT, "%.2f", config.advertIntervalMs() / 1000.0);
        StringBuilder sb = new StringBuilder();
        sb.append("global_defs {\n  router_id ").append(lab.prefix()).append(fw)
                .append("\n  vrrp_version 3\n  vrrp_garp_master_delay 5\n  vrrp_garp_master_repeat 5\n")
                // the same scheduling as Tandem's failover path (cluster.realtime_priority 10): a fair comparison
                .append("  vrrp_rt_priority 10\n}\n");
        sb.append("vrrp_sync_group LAB {\n  group {\n    LAN4\n    WAN4\n    LAN6\n    WAN6\n  }\n");
        if (notify != null) {
            Path script = notify.apply(fw);
            sb.append("  notify_master \"").append(script).append(" primary\"\n  notify_backup \"").append(script)
                    .append(" backup\"\n  notify_fault \"").append(script).append(" fault\"\n");
        }
        sb.append("}\n");
        String[][] inst = {{"LAN4", "lan0", "10.10.1.254/24"}, {"WAN4", "wan0", "10.10.2.254/24"},
                {"LAN6", "lan0", "fd10:10:1::254/64"}, {"WAN6", "wan0", "fd10:10:2::254/64"}};
        for (String[] i : inst) {
            sb.append("vrrp_instance ").append(i[0]).append(" {\n  state BACKUP\n  interface ").append(i[1])
                    .append("\n  virtual_router_id 51\n  priority ").append(prio).append("\n  advert_int ").append(interval)
                    .append('\n');
            if (!config.preempt()) {
                sb.append("  nopreempt\n");
            } else {
                sb.append("  preempt_delay ").append(Math.max(0, config.preemptionHoldMs() / 1000)).append('\n');
            }
            sb.append("  virtual_ipaddress {\n    ").append(i[2]).append("\n  }\n}\n");
        }
        return sb.toString();
    }

    @Override
    protected Path logFile(String fw) {
        return lab.runDir().resolve("keepalived-" + fw + ".log");
    }

    /** SIGTERM to the parent stops its VRRP child, which sends priority 0; SIGKILL leaves the VIPs. */
    @Override
    protected Process launch(String fw) {
        Path dir = lab.runDir();
        Path conf = dir.resolve("keepalived-" + fw + ".conf");
        try {
            Files.writeString(conf, conf(fw));
        } catch (IOException e) {
            throw new LabException("cannot write " + conf + ": " + e.getMessage());
        }
        List<String> cmd = List.of("ip", "netns", "exec", lab.ns(fw), "keepalived", "--dont-fork", "--log-console",
                "--vrrp", "-f", conf.toString(), "-p", dir.resolve("ka-" + fw + ".pid").toString(),
                "-r", dir.resolve("ka-vrrp-" + fw + ".pid").toString());
        return JavaProcess.start(cmd, logFile(fw));
    }
}
