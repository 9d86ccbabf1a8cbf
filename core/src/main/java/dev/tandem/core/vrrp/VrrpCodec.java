package dev.tandem.core.vrrp;

import dev.tandem.core.net.IpAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * VRRPv3 wire format (RFC 5798 §5), IPv4 and IPv6. Pure: bytes in, bytes or a reasoned rejection out.
 * The IP header is not part of the message; the caller passes source, destination and TTL/hop limit.
 */
public final class VrrpCodec {
    public static final int PROTOCOL = 112;
    public static final int HEADER_LENGTH = 8;
    public static final IpAddress GROUP_V4 = IpAddress.parse("224.0.0.18");
    public static final IpAddress GROUP_V6 = IpAddress.parse("ff02::12");

    private VrrpCodec() {}

    public static IpAddress group(boolean ipv6) {
        return ipv6 ? GROUP_V6 : GROUP_V4;
    }

    /** Encodes an advert sent from source to the VRRP multicast group of its family. */
    public static byte[] encode(VrrpAdvert advert, IpAddress source, ChecksumMode mode) {
        int alen = advert.ipv6() ? 16 : 4;
        if (source.isIpv6() != advert.ipv6()) {
            throw new IllegalArgumentException("source " + source + " is not of the advert's family");
        }
        byte[] out = new byte[HEADER_LENGTH + alen * advert.addresses().size()];
        out[0] = 0x31; // version 3, type 1 (ADVERTISEMENT)
        out[1] = (byte) advert.vrid();
        out[2] = (byte) advert.priority();
        out[3] = (byte) advert.addresses().size();
        out[4] = (byte) ((advert.maxAdvertIntervalCs() >> 8) & 0x0f);
        out[5] = (byte) advert.maxAdvertIntervalCs();
        int off = HEADER_LENGTH;
        for (IpAddress a : advert.addresses()) {
            System.arraycopy(a.bytes(), 0, out, off, alen);
            off += alen;
        }
        // IPv6 has no v2 form: the pseudo-header is mandatory there (RFC 5798 §5.2.8).
        boolean pseudo = mode == ChecksumMode.RFC5798 || advert.ipv6();
        int sum = pseudo ? checksum(out, source, group(advert.ipv6())) : checksum(out, null, null);
        out[6] = (byte) (sum >> 8);
        out[7] = (byte) sum;
        return out;
    }

    /**
     * Decodes and validates a received message. Never throws on any input.
     *
     * @param ipv6 the family of the socket it arrived on
     */
    public static VrrpDecodeResult decode(byte[] msg, IpAddress source, IpAddress destination, int ttl, boolean ipv6) {
        if (msg == null || msg.length < HEADER_LENGTH) {
            return reject(RejectReason.TOO_SHORT, "length " + (msg == null ? 0 : msg.length));
        }
        if (source == null || destination == null || source.isIpv6() != ipv6 || destination.isIpv6() != ipv6) {
            return reject(RejectReason.FAMILY_MISMATCH, "source " + source + ", destination " + destination);
        }
        if (ttl != 255) {
            return reject(RejectReason.BAD_TTL, "got " + ttl + " from " + source);
        }
        int version = (msg[0] & 0xf0) >> 4;
        if (version != 3) {
            return reject(RejectReason.BAD_VERSION, "version " + version + " from " + source);
        }
        int type = msg[0] & 0x0f;
        if (type != 1) {
            return reject(RejectReason.BAD_TYPE, "type " + type + " from " + source);
        }
        int vrid = msg[1] & 0xff;
        if (vrid == 0) {
            return reject(RejectReason.BAD_VRID, "from " + source);
        }
        int priority = msg[2] & 0xff;
        int count = msg[3] & 0xff;
        if (count == 0) {
            return reject(RejectReason.NO_ADDRESSES, "VRID " + vrid + " from " + source);
        }
        int alen = ipv6 ? 16 : 4;
        int expected = HEADER_LENGTH + count * alen;
        if (msg.length != expected) {
            return reject(RejectReason.BAD_LENGTH, "VRID " + vrid + " from " + source + ": " + count
                    + " addresses need " + expected + " bytes, got " + msg.length);
        }
        int interval = ((msg[4] & 0x0f) << 8) | (msg[5] & 0xff);
        if (interval == 0) {
            return reject(RejectReason.ZERO_INTERVAL, "VRID " + vrid + " from " + source);
        }
        boolean pseudo;
        if (checksum(msg, source, destination) == 0) {
            pseudo = true;
        } else if (checksum(msg, null, null) == 0) {
            pseudo = false;
        } else {
            return reject(RejectReason.BAD_CHECKSUM, String.format("VRID %d from %s: 0x%02x%02x", vrid, source,
                    msg[6] & 0xff, msg[7] & 0xff));
        }
        List<IpAddress> addresses = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            byte[] a = new byte[alen];
            System.arraycopy(msg, HEADER_LENGTH + i * alen, a, 0, alen);
            addresses.add(IpAddress.of(a));
        }
        return new VrrpDecodeResult.Accepted(new VrrpAdvert(vrid, priority, interval, addresses, pseudo));
    }

    private static VrrpDecodeResult reject(RejectReason r, String detail) {
        return new VrrpDecodeResult.Rejected(r, detail);
    }

    /**
     * Internet checksum over (optional pseudo-header +) message. Over a message whose checksum field
     * is already filled in, a correct checksum yields 0; over a zeroed field it yields the value to put there.
     */
    static int checksum(byte[] msg, IpAddress source, IpAddress destination) {
        long sum = 0;
        if (source != null) {
            sum += words(source.bytes());
            sum += words(destination.bytes());
            if (source.isIpv6()) {
                sum += (msg.length >>> 16) + (msg.length & 0xffff); // 32-bit upper-layer length
                sum += PROTOCOL;                                       // 3 zero bytes + next header
            } else {
                sum += PROTOCOL;                                       // zero byte + protocol
                sum += msg.length;                                     // 16-bit length
            }
        }
        sum += words(msg);
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static long words(byte[] b) {
        long s = 0;
        int i = 0;
        for (; i + 1 < b.length; i += 2) {
            s += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if (i < b.length) {
            s += (b[i] & 0xff) << 8;
        }
        return s;
    }
}
