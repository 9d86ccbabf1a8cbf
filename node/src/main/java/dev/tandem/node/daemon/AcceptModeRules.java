package dev.tandem.node.daemon;

import dev.tandem.linux.Nftables;
import dev.tandem.core.ha.InstanceSpec;
import dev.tandem.core.net.Cidr;
import java.util.ArrayList;
import java.util.List;

/**
 * VRRP accept mode off (RFC 5798 §6.1): the master must not accept packets addressed to the VIPs it
 * owns (except what address resolution needs). An nftables table dropping them in the input hook
 * does it; it can stay installed in every state, because a node only receives packets for a VIP
 * while the VIP is on one of its interfaces. Forwarded traffic (the firewall's job, including
 * replies to SNAT on the VIP, which are de-NATed before input) is not touched.
 *
 * <p>Applied through libnftables (one transaction).
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

    /** Replaces the table in one transaction (declared, deleted and made again: no window without it). */
    static void install(List<InstanceSpec> instances) {
        try {
            Nftables.apply("table inet " + TABLE + "\ndelete table inet " + TABLE + "\n" + ruleset(instances));
        } catch (Nftables.NftablesException e) {
            throw new IllegalStateException("nftables refused the accept-mode rules: " + e.getMessage());
        }
    }

    static void remove() {
        if (Nftables.tables().contains("inet " + TABLE)) {
            Nftables.apply("delete table inet " + TABLE + "\n");
        }
    }
}
