package dev.tandem.core.net;

/** An interface address with its prefix length, e.g. 10.10.1.254/24. */
public record Cidr(IpAddress address, int prefixLength) {

    public Cidr {
        int max = address.isIpv6() ? 128 : 32;
        if (prefixLength < 0 || prefixLength > max) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " out of range 0.." + max);
        }
    }

    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("'" + text + "' has no /prefix");
        }
        IpAddress a = IpAddress.parse(text.substring(0, slash));
        int p;
        try {
            p = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' has a bad prefix length");
        }
        return new Cidr(a, p);
    }

    /** True when other lies in this address's subnet. */
    public boolean contains(IpAddress other) {
        if (other.isIpv6() != address.isIpv6()) {
            return false;
        }
        int full = prefixLength / 8;
        for (int i = 0; i < full; i++) {
            if (address.byteAt(i) != other.byteAt(i)) {
                return false;
            }
        }
        int rest = prefixLength % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (address.byteAt(full) & mask) == (other.byteAt(full) & mask);
    }

    @Override
    public String toString() {
        return address + "/" + prefixLength;
    }
}
