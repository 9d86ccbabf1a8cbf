package dev.tandem.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Three namespaces in a row: client (10.98.1.2, fd98:1::2) - router - server (10.98.2.2, fd98:2::2).
 * The router forwards, tracks (`ct state established,related accept`), masquerades what leaves towards
 * the server (so replies come back to 10.98.2.1 / fd98:2::1) and DNATs UDP 10.98.1.1:5353 to
 * 10.98.2.2:5300. {@link #fresh(String)} adds bare namespaces (deleted with the rest).
 */
final class NatRouter implements AutoCloseable {
    final String prefix = "tlx" + Integer.toHexString(0x1000 + new Random().nextInt(0xefff));
    final String client = prefix + "-c";
    final String router = prefix + "-r";
    final String server = prefix + "-s";
    private final List<String> namespaces = new ArrayList<>();

    static final String RULESET = """
            table inet tlxct {
              chain tlxfwd {
                type filter hook forward priority 0; policy accept;
                ct state established,related accept
              }
              chain tlxpre {
                type nat hook prerouting priority -100;
                ip daddr 10.98.1.1 udp dport 5353 dnat ip to 10.98.2.2:5300
              }
              chain tlxpost {
                type nat hook postrouting priority 100;
                oifname "eth1" masquerade
              }
            }
            """;

    /**
     * The standby router's ruleset: no NAT rules of its own and no new forwarded connections, so a
     * forwarded packet passes (translated) only through a conntrack entry injected by session sync.
     */
    static final String STANDBY_RULESET = """
            table inet tlxct {
              chain tlxfwd {
                type filter hook forward priority 0; policy accept;
                ct state established,related accept
                ct state new,invalid drop
              }
              chain tlxpost {
                type nat hook postrouting priority 100;
              }
            }
            """;

    NatRouter() {
        try {
            for (String ns : List.of(client, router, server)) {
                fresh(ns);
            }
            veth(client, "eth0", router, "eth0");
            veth(router, "eth1", server, "eth0");
            addr(client, "eth0", "10.98.1.2/24", "fd98:1::2/64");
            addr(router, "eth0", "10.98.1.1/24", "fd98:1::1/64");
            addr(router, "eth1", "10.98.2.1/24", "fd98:2::1/64");
            addr(server, "eth0", "10.98.2.2/24", "fd98:2::2/64");
            TwoHosts.sh("ip", "-n", client, "route", "add", "default", "via", "10.98.1.1");
            TwoHosts.sh("ip", "-n", client, "-6", "route", "add", "default", "via", "fd98:1::1");
            TwoHosts.sh("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1",
                    "net.ipv6.conf.all.forwarding=1");
            nft(router, RULESET);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static void nft(String ns, String ruleset) {
        try {
            Path rules = Files.createTempFile("tlxct", ".nft");
            try {
                Files.writeString(rules, ruleset, StandardCharsets.UTF_8);
                TwoHosts.sh("ip", "netns", "exec", ns, "nft", "-f", rules.toString());
            } finally {
                Files.deleteIfExists(rules);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Prepares namespace standby as a router with {@link #STANDBY_RULESET} (no links yet). */
    void prepareStandby(String standby) {
        TwoHosts.sh("ip", "netns", "exec", standby, "sysctl", "-qw", "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1");
        nft(standby, STANDBY_RULESET);
    }

    /** Failover: moves the router's two links (same MACs) into standby and gives them the router's addresses. */
    void moveLinksTo(String standby) {
        TwoHosts.sh("ip", "-n", router, "link", "set", "eth0", "netns", standby);
        TwoHosts.sh("ip", "-n", router, "link", "set", "eth1", "netns", standby);
        TwoHosts.sh("ip", "-n", standby, "link", "set", "eth0", "up");
        TwoHosts.sh("ip", "-n", standby, "link", "set", "eth1", "up");
        addr(standby, "eth0", "10.98.1.1/24", "fd98:1::1/64");
        addr(standby, "eth1", "10.98.2.1/24", "fd98:2::1/64");
    }

    /** A new empty namespace (lo up, DAD off) named prefix-suffix, deleted by close(). */
    String fresh(String name) {
        String ns = name.startsWith(prefix) ? name : prefix + "-" + name;
        TwoHosts.sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        TwoHosts.sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0");
        TwoHosts.sh("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    private void veth(String nsA, String nameA, String nsB, String nameB) {
        String a = prefix + "v" + namespaces.indexOf(nsA) + namespaces.indexOf(nsB) + "a";
        String b = prefix + "v" + namespaces.indexOf(nsA) + namespaces.indexOf(nsB) + "b";
        TwoHosts.sh("ip", "link", "add", a, "netns", nsA, "type", "veth", "peer", "name", b, "netns", nsB);
        TwoHosts.sh("ip", "-n", nsA, "link", "set", a, "name", nameA);
        TwoHosts.sh("ip", "-n", nsB, "link", "set", b, "name", nameB);
        TwoHosts.sh("ip", "-n", nsA, "link", "set", nameA, "up");
        TwoHosts.sh("ip", "-n", nsB, "link", "set", nameB, "up");
    }

    private static void addr(String ns, String dev, String v4, String v6) {
        TwoHosts.sh("ip", "-n", ns, "addr", "add", v4, "dev", dev);
        TwoHosts.sh("ip", "-n", ns, "addr", "add", v6, "dev", dev, "nodad");
    }

    @Override
    public void close() {
        for (String ns : namespaces) {
            try {
                new ProcessBuilder("ip", "netns", "del", ns).start().waitFor(10, TimeUnit.SECONDS);
            } catch (IOException e) {
                // best effort
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
