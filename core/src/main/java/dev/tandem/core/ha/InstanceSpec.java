package dev.tandem.core.ha;

import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import java.util.List;

/**
 * One VRRP instance of a node: a virtual group on one interface for one address family.
 *
 * @param sourceAddress this node's address on the interface, used as the advert's source and in
 *                      the checksum pseudo-header (IPv4 primary address; IPv6 link-local)
 */
public record InstanceSpec(String group, int vrid, String iface, boolean ipv6, List<Cidr> addresses,
                           IpAddress sourceAddress) {

    public InstanceSpec {
        if (vrid < 1 || vrid > 255) {
            throw new IllegalArgumentException("VRID " + vrid + " out of 1..255");
        }
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException(group + " on " + iface + ": no addresses");
        }
        for (Cidr c : addresses) {
            if (c.address().isIpv6() != ipv6) {
                throw new IllegalArgumentException(group + " on " + iface + ": " + c + " is not "
                        + (ipv6 ? "IPv6" : "IPv4"));
            }
        }
        if (sourceAddress.isIpv6() != ipv6) {
            throw new IllegalArgumentException(group + " on " + iface + ": source " + sourceAddress + " of wrong family");
        }
        addresses = List.copyOf(addresses);
    }

    /** "vg1 lan0/IPv4" — how events name the instance. */
    public String label() {
        return group + " " + iface + "/" + (ipv6 ? "IPv6" : "IPv4");
    }
}
