package dev.tandem.node.daemon;

import dev.tandem.core.ha.InstanceSpec;
import dev.tandem.core.net.Cidr;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * VRRP accept mode off (RFC 5798 §6.1): the master must not accept packets addressed to the VIPs it
 * owns (except what address resolution needs). An nftables table dropping them in the input hook
 * does it; it can stay installed in every state, because a node only receives packets for a VIP
 * while the VIP is on one of its interfaces. Forwarded traffic (the firewall's job, including
 * replies to SNAT on the VIP, which are de-NATed before input) is not touched.
 *
 * <p>Applied with the `nft` program for now; the libnftables binding comes with config sync.
 */
final class AcceptModeRules {
    static final String TABLE = "tandem_accept";

    private AcceptModeRules() {}

    static String ruleset(List<InstanceSpec> instances) {
        List<String> v4 = new ArrayList<>();
        List<String> v6 = new ArrayList<>();
        for (InstanceSpec i : instances) {
            for (Cidr c : i.addresses()) {
                (c.address().isIpv6() ? v6 : v4).add(c.address().toString());
            }
        }
        StringBuilder b = new StringBuilder();
        b.append("table inet ").append(TABLE).append(" {\n  chain input {\n")
                .append("    type filter hook input priority -150; policy accept;\n")
                .append("    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n");
        if (!v4.isEmpty()) {
            b.append("    ip daddr { ").append(String.join(", ", v4)).append(" } drop\n");
        }
        if (!v6.isEmpty()) {
            b.append("    ip6 daddr { ").append(String.join(", ", v6)).append(" } drop\n");
        }
        return b.append("  }\n}\n").toString();
    }

    static void install(List<InstanceSpec> instances) {
        remove();
        nft(ruleset(instances), true);
    }

    static void remove() {
        nft("delete table inet " + TABLE + "\n", false);
    }

    private static void nft(String script, boolean mustWork) {
        try {
            Process p = new ProcessBuilder("nft", "-f", "-").redirectErrorStream(true).start();
            p.getOutputStream().write(script.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("nft did not finish within 10 s");
            }
            if (mustWork && p.exitValue() != 0) {
                throw new IllegalStateException("nft refused the accept-mode rules: " + out.trim());
            }
        } catch (IOException e) {
            if (mustWork) {
                throw new IllegalStateException("accept: false needs the nft program: " + e.getMessage());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
