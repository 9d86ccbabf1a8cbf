package dev.tandem.core.vrrp;

import dev.tandem.core.net.IpAddress;
import java.util.List;

/**
 * A VRRPv3 ADVERTISEMENT (RFC 5798 §5.1).
 *
 * @param maxAdvertIntervalCs max advertisement interval in centiseconds (12 bits)
 * @param pseudoHeaderChecksum on receive: whether the checksum matched the RFC 5798 form (else the v2 form)
 */
public record VrrpAdvert(int vrid, int priority, int maxAdvertIntervalCs, List<IpAddress> addresses,
                         boolean pseudoHeaderChecksum) {

    public VrrpAdvert {
        if (vrid < 1 || vrid > 255) {
            throw new IllegalArgumentException("VRID " + vrid + " out of 1..255");
        }
        if (priority < 0 || priority > 255) {
            throw new IllegalArgumentException("priority " + priority + " out of 0..255");
        }
        if (maxAdvertIntervalCs < 1 || maxAdvertIntervalCs > 0xfff) {
            throw new IllegalArgumentException("advert interval " + maxAdvertIntervalCs + " cs out of 1..4095");
        }
        if (addresses.isEmpty() || addresses.size() > 255) {
            throw new IllegalArgumentException("an advert carries 1..255 addresses, got " + addresses.size());
        }
        boolean v6 = addresses.getFirst().isIpv6();
        for (IpAddress a : addresses) {
            if (a.isIpv6() != v6) {
                throw new IllegalArgumentException("an advert carries addresses of one family only");
            }
        }
        addresses = List.copyOf(addresses);
    }

    public boolean ipv6() {
        return addresses.getFirst().isIpv6();
    }
}
