package dev.tandem.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The embedded lab: namespaces client, server, fw1, fw2 and two switches (lan, wan) holding a
 * bridge each, plus a direct control link and data link between the firewalls. Names carry a
 * prefix ("tandem-" by default). Only addresses inside these namespaces are used.
 *
 * <pre>
 *   client(.100) --- [lan: br0] ---+--- lan0 fw1(.1) wan0 ---+--- [wan: br0] --- server(.100)
 *   10.10.1.0/24                   +--- lan0 fw2(.2) wan0 ---+              10.10.2.0/24
 *   fd10:10:1::/64                      fw1 ctl0/data0 === fw2   (10.10.3.0/30, 10.10.4.0/30)  fd10:10:2::/64
 *   VIPs: 10.10.1.254, fd10:10:1::254 (LAN), 10.10.2.254, fd10:10:2::254 (WAN)
 * </pre>
 */
public final class LabTopology {
    public static final String DEFAULT_PREFIX = "tandem-";
    public static final String LAN_VIP = "10.10.1.254";
    public static final String WAN_VIP = "10.10.2.254";
    public static final String SERVER = "10.10.2.100";
    public static final String SERVER6 = "fd10:10:2::100";

    private final String prefix;

    public LabTopology(String prefix) {
        if (!prefix.matches("[a-z0-9-]{1,12}")) {
            throw new LabException("lab prefix must be 1-12 of a-z, 0-9, '-': '" + prefix + "'");
        }
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    public String ns(String role) {
        return prefix + role;
    }

    public List<String> namespaces() {
        return List.of(ns("client"), ns("server"), ns("fw1"), ns("fw2"), ns("lan"), ns("wan"));
    }

    public Path runDir() {
        return Path.of("/run/tandem-lab", prefix);
    }

    public Path configFile() {
        return runDir().resolve("tandem.yaml");
    }

    /**
     * The file a firewall's daemon runs with: a copy of {@link #configFile()} per node, as on real
     * hosts (config sync rewrites a peer's shared part in its own file).
     */
    public Path configFile(String fw) {
        return runDir().resolve("tandem-" + fw + ".yaml");
    }

    /** Writes the cluster file and each firewall's copy. */
    public void writeConfigText(String yaml) throws IOException {
        Files.writeString(configFile(), yaml);
        for (String fw : List.of("fw1", "fw2")) {
            Files.writeString(configFile(fw), yaml);
        }
    }

    public boolean exists() {
        return Cmd.namespaces().containsAll(namespaces());
    }

    /** Builds the lab (replacing a broken one) and writes the Tandem config for the profile. */
    public void up(LabConfig config) {
        if (exists()) {
            attachHost();
            writeConfig(config);
            return;
        }
        down();
        try {
            attachHost();
            for (String ns : namespaces()) {
                Cmd.sh("ip", "netns", "add", ns);
                Cmd.sh("ip", "-n", ns, "link", "set", "lo", "up");
                // before any link exists, so that every new interface inherits it: no DAD delay
                // keep_addr_on_down: without it a link flap flushes the IPv6 addresses of the interface
                Cmd.in(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                        "net.ipv6.conf.all.keep_addr_on_down=1", "net.ipv6.conf.default.keep_addr_on_down=1");
            }
            for (String sw : List.of("lan", "wan")) {
                Cmd.sh("ip", "-n", ns(sw), "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
                Cmd.sh("ip", "-n", ns(sw), "link", "set", "br0", "up");
            }
            plug("client", "eth0", "lan");
            plug("fw1", "lan0", "lan");
            plug("fw2", "lan0", "lan");
            plug("server", "eth0", "wan");
            plug("fw1", "wan0", "wan");
            plug("fw2", "wan0", "wan");
            cable("fw1", "ctl0", "fw2", "ctl0");
            cable("fw1", "data0", "fw2", "data0");

            addr("client", "eth0", "10.10.1.100/24", "fd10:10:1::100/64");
            addr("server", "eth0", "10.10.2.100/24", "fd10:10:2::100/64");
            for (int n = 1; n <= 2; n++) {
                String fw = "fw" + n;
                addr(fw, "lan0", "10.10.1." + n + "/24", "fd10:10:1::" + n + "/64");
                addr(fw, "wan0", "10.10.2." + n + "/24", "fd10:10:2::" + n + "/64");
                addr(fw, "ctl0", "10.10.3." + n + "/30");
                addr(fw, "data0", "10.10.4." + n + "/30");
                Cmd.in(ns(fw), "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
                nft(fw);
                setService(fw, true);
            }
            Cmd.sh("ip", "-n", ns("client"), "route", "add", "default", "via", LAN_VIP);
            Cmd.sh("ip", "-n", ns("client"), "-6", "route", "add", "default", "via", "fd10:10:1::254");
            Cmd.sh("ip", "-n", ns("server"), "route", "add", "default", "via", WAN_VIP);
            Cmd.sh("ip", "-n", ns("server"), "-6", "route", "add", "default", "via", "fd10:10:2::254");
            writeConfig(config);
        } catch (RuntimeException e) {
            down();
            throw e;
        }
    }

    private static final Random NAMES = new Random();

    /** A veth from host's iface to a port of the switch's bridge. */
    private void plug(String host, String iface, String sw) {
        String port = host;
        cable(host, iface, sw, port);
        Cmd.sh("ip", "-n", ns(sw), "link", "set", port, "master", "br0");
    }

    private void cable(String a, String ifa, String b, String ifb) {
        // temporary unique names: the final names exist in many namespaces at once
        String ta = "tl" + Integer.toHexString(NAMES.nextInt(1 << 24));
        String tb = "tl" + Integer.toHexString(NAMES.nextInt(1 << 24));
        Cmd.sh("ip", "link", "add", ta, "netns", ns(a), "type", "veth", "peer", "name", tb, "netns", ns(b));
        Cmd.sh("ip", "-n", ns(a), "link", "set", ta, "name", ifa);
        Cmd.sh("ip", "-n", ns(b), "link", "set", tb, "name", ifb);
        Cmd.sh("ip", "-n", ns(a), "link", "set", ifa, "up");
        Cmd.sh("ip", "-n", ns(b), "link", "set", ifb, "up");
    }

    private void addr(String host, String iface, String... cidrs) {
        for (String c : cidrs) {
            Cmd.sh("ip", "-n", ns(host), "addr", "add", c, "dev", iface);
        }
    }

    /** Stateful forwarding (policy drop) with SNAT of LAN traffic to the WAN VIP. */
    static String ruleset() {
        return """
                flush ruleset
                table inet tandem_fw {
                  # packets dropped for lack of a session: mid-flow packets the firewall has no state for
                  counter no_session { }
                  chain forward {
                    type filter hook forward priority filter; policy drop;
                    ct state established,related accept
                    ct state invalid counter name no_session drop
                    meta l4proto tcp ct state new tcp flags & (fin | syn | rst | ack) != syn counter name no_session drop
                    iifname "lan0" oifname "wan0" ct state new accept
                  }
                  chain postrouting {
                    type nat hook postrouting priority srcnat; policy accept;
                    oifname "wan0" ip saddr 10.10.1.0/24 snat ip to 10.10.2.254
                    oifname "wan0" ip6 saddr fd10:10:1::/64 snat ip6 to fd10:10:2::254
                  }
                }
                """;
    }

    /**
     * The ruleset config sync manages (cluster.config_sync.ruleset): the lab's table, self-contained
     * (declared, deleted and made again in one transaction) so that applying it twice gives the same.
     */
    public static String syncedRuleset() {
        return "table inet tandem_fw\ndelete table inet tandem_fw\n" + ruleset().replace("flush ruleset\n", "");
    }

    private void nft(String fw) {
        try {
            Files.createDirectories(runDir());
            Files.writeString(runDir().resolve("ruleset.nft"), syncedRuleset());
            Path f = runDir().resolve(fw + ".nft");
            Files.writeString(f, ruleset());
            Cmd.in(ns(fw), "nft", "-f", f.toString());
        } catch (IOException e) {
            throw new LabException("cannot write the ruleset: " + e.getMessage());
        }
    }

    /**
     * The host port of a firewall's API and dashboard: 8441/8442 for the default lab, a port derived
     * from the prefix for others (tests), so that a lab and the tests never collide.
     */
    public int apiPort(String fw) {
        int n = fw.equals("fw1") ? 1 : 2;
        return prefix.equals(DEFAULT_PREFIX) ? 8440 + n : 20_000 + Math.floorMod(prefix.hashCode(), 10_000) * 2 + n;
    }

    public void writeConfig(LabConfig config) {
        try {
            Files.createDirectories(runDir());
            writeConfigText(config.yaml(runDir(), apiPort("fw1"), apiPort("fw2"), "/run/netns/" + hostNamespace()));
            Path pki = runDir().resolve("pki");
            if (!Files.exists(pki.resolve("fw2.crt"))) {
                // the cluster PKI, made by `tandem pki` itself
                for (List<String> args : List.of(List.of("pki", "init", "--dir", pki.toString(), "--cluster", "lab"),
                        List.of("pki", "issue", "fw1", "--dir", pki.toString()),
                        List.of("pki", "issue", "fw2", "--dir", pki.toString()))) {
                    Process p = JavaProcess.start(JavaProcess.command(null, "dev.tandem.node.cli.TandemCli", List.of(),
                            args), runDir().resolve("pki.log"));
                    if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                        throw new LabException("tandem " + String.join(" ", args) + " failed: see " + runDir().resolve("pki.log"));
                    }
                }
            }
        } catch (IOException e) {
            throw new LabException("cannot write " + configFile() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted");
        }
    }

    /** Removes everything of this prefix, even after a crash: processes, namespaces, run dir. */
    /**
     * The name under which the firewalls' daemons find the host's own network namespace, to bind
     * their dashboards on its 127.0.0.1 (/proc/1/ns/net may be closed to them in a container). Not
     * a lab namespace: `down` only removes the name, never the processes in it (the whole host).
     */
    public String hostNamespace() {
        return "hostns-" + prefix;
    }

    private void attachHost() {
        if (!Cmd.namespaces().contains(hostNamespace())) {
            Cmd.sh("ip", "netns", "attach", hostNamespace(), Long.toString(ProcessHandle.current().pid()));
        }
    }

    public void down() {
        if (Cmd.namespaces().contains(hostNamespace())) {
            Cmd.run("ip", "netns", "delete", hostNamespace()); // unmounts the name only
        }
        List<String> present = Cmd.namespaces();
        for (String ns : namespaces()) {
            if (present.contains(ns)) {
                Cmd.deleteNamespace(ns);
            }
        }
        Path dir = runDir();
        if (Files.exists(dir)) {
            try (var files = Files.walk(dir)) {
                List<Path> all = new ArrayList<>(files.toList());
                java.util.Collections.reverse(all);
                for (Path p : all) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                throw new LabException("cannot remove " + dir + ": " + e.getMessage());
            }
        }
    }

    /** Human summary: which namespaces exist, who holds the VIPs. */
    public String status() {
        StringBuilder sb = new StringBuilder();
        List<String> present = Cmd.namespaces();
        for (String ns : namespaces()) {
            sb.append(String.format("%-16s %s%n", ns, present.contains(ns) ? "up" : "absent"));
        }
        if (exists()) {
            for (String fw : List.of("fw1", "fw2")) {
                boolean lan = Cmd.hasAddress(ns(fw), "lan0", LAN_VIP);
                boolean wan = Cmd.hasAddress(ns(fw), "wan0", WAN_VIP);
                sb.append(String.format("%-16s VIPs: LAN %s, WAN %s%n", ns(fw), lan ? "yes" : "no", wan ? "yes" : "no"));
            }
            sb.append("config: ").append(configFile()).append('\n');
        }
        return sb.toString();
    }

    /** Which firewall holds the LAN VIP: "fw1", "fw2", "both" or "none". */
    public String active() {
        boolean a = Cmd.hasAddress(ns("fw1"), "lan0", LAN_VIP);
        boolean b = Cmd.hasAddress(ns("fw2"), "lan0", LAN_VIP);
        return a && b ? "both" : a ? "fw1" : b ? "fw2" : "none";
    }

    public void setLink(String host, String iface, boolean up) {
        Cmd.sh("ip", "-n", ns(host), "link", "set", iface, up ? "up" : "down");
    }

    /**
     * Cuts every link of a firewall at once, in both directions, ARP included: one nftables
     * transaction of netdev ingress/egress drop chains. The host's daemon sees no link event; to the
     * rest of the lab the host is gone at this instant, as in a crash.
     */
    public void cutDataPlane(String fw) {
        StringBuilder t = new StringBuilder("table netdev tandem_crash {\n");
        for (String l : firewallLinks()) {
            t.append("  chain in_").append(l).append(" { type filter hook ingress device \"").append(l)
                    .append("\" priority -500; policy drop; }\n");
            t.append("  chain out_").append(l).append(" { type filter hook egress device \"").append(l)
                    .append("\" priority -500; policy drop; }\n");
        }
        t.append("}\n");
        try {
            Path f = runDir().resolve(fw + "-crash.nft");
            Files.writeString(f, t.toString());
            Cmd.in(ns(fw), "nft", "-f", f.toString());
        } catch (IOException e) {
            throw new LabException("cannot write the crash ruleset: " + e.getMessage());
        }
    }

    public void restoreDataPlane(String fw) {
        Cmd.run("ip", "netns", "exec", ns(fw), "nft", "delete", "table", "netdev", "tandem_crash");
    }

    /**
     * The lab's stand-in for a service on a firewall: the interface svc0, which the lab's
     * service check 'svc' looks for. Deleting it makes that check fail on that firewall only.
     */
    public void setService(String fw, boolean up) {
        boolean present = Cmd.run("ip", "-n", ns(fw), "link", "show", "dev", "svc0").code() == 0;
        if (up && !present) {
            // a veth pair, not a dummy: containers' kernels may lack the dummy module
            Cmd.sh("ip", "-n", ns(fw), "link", "add", "svc0", "type", "veth", "peer", "name", "svc1");
        } else if (!up && present) {
            Cmd.sh("ip", "-n", ns(fw), "link", "del", "svc0");
        }
    }

    /** Packets fw dropped for lack of a session since the ruleset was loaded (nftables counter no_session). */
    public long noSessionDrops(String fw) {
        String out = Cmd.in(ns(fw), "nft", "list", "counter", "inet", "tandem_fw", "no_session");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("packets (\\d+)").matcher(out);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** Resets the no_session counter of fw. */
    public void resetNoSessionDrops(String fw) {
        Cmd.in(ns(fw), "nft", "reset", "counter", "inet", "tandem_fw", "no_session");
    }

    /** Makes the server unreachable from one firewall (its probes and forwarded traffic to 10.10.2.100 dropped). */
    public void blockServer(String fw, boolean blocked) {
        if (blocked) {
            Cmd.in(ns(fw), "nft", "add table inet tandem_block; add chain inet tandem_block out { type filter hook "
                    + "output priority -10; policy accept; }; add rule inet tandem_block out ip daddr 10.10.2.100 drop");
        } else {
            Cmd.run("ip", "netns", "exec", ns(fw), "nft", "delete", "table", "inet", "tandem_block");
        }
    }

    /** Starts a firewall's daemon in the background (it outlives this process; `down` stops it). */
    public void startDetached(String fw) {
        JavaProcess.start(JavaProcess.command(ns(fw), "dev.tandem.node.cli.TandemCli", TandemPair.nodeJvm(),
                List.of("run", "-c", configFile(fw).toString(), "--node", fw)), runDir().resolve(fw + ".log"));
    }

    public List<String> firewallLinks() {
        return List.of("lan0", "wan0", "ctl0", "data0");
    }
}
