package dev.tandem.linux;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * One conntrack entry, reduced to what must survive a failover. Immutable.
 *
 * <p>NAT is not a separate field: as in the kernel, a translated connection is one whose reply tuple
 * differs from the inverted original ({@link #isSourceNat()}, {@link #isDestinationNat()}).
 *
 * @param family L3 family of both tuples
 * @param protocol L4 protocol number ({@link #TCP}, {@link #UDP}, {@link #ICMP}, {@link #ICMPV6}, ...)
 * @param original the tuple of the first packet, as it arrived
 * @param reply the tuple replies are expected with (after NAT)
 * @param status IPS_* bits (u32 bit pattern)
 * @param timeoutSeconds seconds until the entry expires (u32; 0 when the message had none, e.g. destroy events)
 * @param mark connection mark (u32 bit pattern)
 * @param zone conntrack zone (u16)
 * @param tcp TCP state and window tracking flags; null for other protocols or when the kernel sent none
 * @param id the kernel's conntrack id (u32), meaningful only on the host that reported it
 */
public record ConntrackEntry(Family family, int protocol, Tuple original, Tuple reply, int status, long timeoutSeconds,
        int mark, int zone, TcpInfo tcp, OptionalLong id) {

    public static final int ICMP = 1;
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int DCCP = 33;
    public static final int GRE = 47;
    public static final int ICMPV6 = 58;
    public static final int SCTP = 132;
    public static final int UDPLITE = 136;

    /** IPS_* status bits (include/uapi/linux/netfilter/nf_conntrack_common.h). */
    public static final int IPS_EXPECTED = 1;
    public static final int IPS_SEEN_REPLY = 1 << 1;
    public static final int IPS_ASSURED = 1 << 2;
    public static final int IPS_CONFIRMED = 1 << 3;
    public static final int IPS_SRC_NAT = 1 << 4;
    public static final int IPS_DST_NAT = 1 << 5;
    public static final int IPS_SRC_NAT_DONE = 1 << 7;
    public static final int IPS_DST_NAT_DONE = 1 << 8;
    public static final int IPS_DYING = 1 << 9;

    public enum Family {
        IPV4(Libc.AF_INET, 4), IPV6(Libc.AF_INET6, 16);

        private final int af;
        private final int addressLength;

        Family(int af, int addressLength) {
            this.af = af;
            this.addressLength = addressLength;
        }

        public int af() {
            return af;
        }

        public int addressLength() {
            return addressLength;
        }

        static Family of(InetAddress a) {
            return a instanceof Inet6Address ? IPV6 : IPV4;
        }
    }

    /**
     * One direction of a connection. Ports are used by the port-carrying protocols (TCP, UDP, UDP-Lite,
     * SCTP, DCCP; GRE keys travel in the same attributes); id/type/code by ICMP and ICMPv6. Unused fields
     * are 0.
     */
    public record Tuple(InetAddress source, InetAddress destination, int sourcePort, int destinationPort, int icmpId,
            int icmpType, int icmpCode) {
        public Tuple {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(destination, "destination");
            if (Family.of(source) != Family.of(destination)) {
                throw new IllegalArgumentException("tuple mixes IPv4 and IPv6: " + source + " -> " + destination);
            }
            check("sourcePort", sourcePort, 0xffff);
            check("destinationPort", destinationPort, 0xffff);
            check("icmpId", icmpId, 0xffff);
            check("icmpType", icmpType, 0xff);
            check("icmpCode", icmpCode, 0xff);
        }

        public static Tuple ports(InetAddress source, InetAddress destination, int sourcePort, int destinationPort) {
            return new Tuple(source, destination, sourcePort, destinationPort, 0, 0, 0);
        }

        public static Tuple icmp(InetAddress source, InetAddress destination, int id, int type, int code) {
            return new Tuple(source, destination, 0, 0, id, type, code);
        }

        public static Tuple addresses(InetAddress source, InetAddress destination) {
            return new Tuple(source, destination, 0, 0, 0, 0, 0);
        }

        /** The same flow seen from the other end (addresses and ports swapped; ICMP fields kept). */
        public Tuple inverted() {
            return new Tuple(destination, source, destinationPort, sourcePort, icmpId, icmpType, icmpCode);
        }

        @Override
        public String toString() {
            String s = "src=" + source.getHostAddress() + " dst=" + destination.getHostAddress();
            if (sourcePort != 0 || destinationPort != 0) {
                s += " sport=" + sourcePort + " dport=" + destinationPort;
            }
            if (icmpId != 0 || icmpType != 0 || icmpCode != 0) {
                s += " type=" + icmpType + " code=" + icmpCode + " id=" + icmpId;
            }
            return s;
        }
    }

    /** TCP tracking state (TCP_CONNTRACK_* in state) and per-direction window scale and IP_CT_TCP_FLAG_* bits. */
    public record TcpInfo(int state, int originalWindowScale, int replyWindowScale, int originalFlags, int replyFlags) {
        public static final int NONE = 0;
        public static final int SYN_SENT = 1;
        public static final int SYN_RECV = 2;
        public static final int ESTABLISHED = 3;
        public static final int FIN_WAIT = 4;
        public static final int CLOSE_WAIT = 5;
        public static final int LAST_ACK = 6;
        public static final int TIME_WAIT = 7;
        public static final int CLOSE = 8;
        public static final int SYN_SENT2 = 9;
        /** IP_CT_TCP_FLAG_WINDOW_SCALE and friends. */
        public static final int FLAG_WINDOW_SCALE = 0x01;
        public static final int FLAG_SACK_PERM = 0x02;
        public static final int FLAG_BE_LIBERAL = 0x08;

        public TcpInfo {
            check("state", state, 0xff);
            check("originalWindowScale", originalWindowScale, 0xff);
            check("replyWindowScale", replyWindowScale, 0xff);
            check("originalFlags", originalFlags, 0xff);
            check("replyFlags", replyFlags, 0xff);
        }

        public static String stateName(int state) {
            return switch (state) {
                case NONE -> "NONE";
                case SYN_SENT -> "SYN_SENT";
                case SYN_RECV -> "SYN_RECV";
                case ESTABLISHED -> "ESTABLISHED";
                case FIN_WAIT -> "FIN_WAIT";
                case CLOSE_WAIT -> "CLOSE_WAIT";
                case LAST_ACK -> "LAST_ACK";
                case TIME_WAIT -> "TIME_WAIT";
                case CLOSE -> "CLOSE";
                case SYN_SENT2 -> "SYN_SENT2";
                default -> "state " + state;
            };
        }
    }

    public ConntrackEntry {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(original, "original");
        Objects.requireNonNull(reply, "reply");
        Objects.requireNonNull(id, "id (use OptionalLong.empty())");
        check("protocol", protocol, 0xff);
        check("zone", zone, 0xffff);
        if (timeoutSeconds < 0 || timeoutSeconds > 0xffffffffL) {
            throw new IllegalArgumentException("timeoutSeconds " + timeoutSeconds + " is not a u32");
        }
        if (Family.of(original.source()) != family || Family.of(reply.source()) != family) {
            throw new IllegalArgumentException("tuples are not " + family + ": " + original + " / " + reply);
        }
        if (id.isPresent() && (id.getAsLong() < 0 || id.getAsLong() > 0xffffffffL)) {
            throw new IllegalArgumentException("id " + id.getAsLong() + " is not a u32");
        }
    }

    /** An entry without NAT (reply = inverted original) and without an id; status SEEN_REPLY|ASSURED|CONFIRMED. */
    public static ConntrackEntry of(int protocol, Tuple original, long timeoutSeconds, TcpInfo tcp) {
        return new ConntrackEntry(Family.of(original.source()), protocol, original, expectedReply(protocol, original),
                IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED, timeoutSeconds, 0, 0, tcp, OptionalLong.empty());
    }

    /**
     * The reply tuple the kernel expects without NAT: addresses and ports swapped, and for ICMP / ICMPv6
     * queries the reply type (echo request 8 -> echo reply 0, 128 -> 129, ...).
     */
    public static Tuple expectedReply(int protocol, Tuple original) {
        Tuple r = original.inverted();
        if (!isIcmp(protocol)) {
            return r;
        }
        return new Tuple(r.source(), r.destination(), 0, 0, r.icmpId(), replyIcmpType(protocol, original.icmpType()),
                r.icmpCode());
    }

    /** The ICMP / ICMPv6 type a reply to a query of type t has (echo request 8 -> echo reply 0, 128 -> 129, ...). */
    static int replyIcmpType(int protocol, int t) {
        return protocol == ICMP
                ? switch (t) { case 8 -> 0; case 0 -> 8; case 13 -> 14; case 14 -> 13; case 15 -> 16; case 16 -> 15;
                    case 17 -> 18; case 18 -> 17; default -> t; }
                : switch (t) { case 128 -> 129; case 129 -> 128; case 139 -> 140; case 140 -> 139; default -> t; };
    }

    /** True when the protocol's tuples carry ports (or GRE keys) in CTA_PROTO_SRC_PORT / DST_PORT. */
    public static boolean hasPorts(int protocol) {
        return protocol == TCP || protocol == UDP || protocol == UDPLITE || protocol == SCTP || protocol == DCCP
                || protocol == GRE;
    }

    public static boolean isIcmp(int protocol) {
        return protocol == ICMP || protocol == ICMPV6;
    }

    /** Replies go to another address or port than the original source: source NAT (or masquerade). */
    public boolean isSourceNat() {
        return !reply.destination().equals(original.source()) || reply.destinationPort() != original.sourcePort()
                || (isIcmp(protocol) && reply.icmpId() != original.icmpId());
    }

    /** Replies come from another address or port than the original destination: destination NAT. */
    public boolean isDestinationNat() {
        return !reply.source().equals(original.destination()) || reply.sourcePort() != original.destinationPort();
    }

    public ConntrackEntry withTimeout(long seconds) {
        return new ConntrackEntry(family, protocol, original, reply, status, seconds, mark, zone, tcp, id);
    }

    public ConntrackEntry withoutId() {
        return new ConntrackEntry(family, protocol, original, reply, status, timeoutSeconds, mark, zone, tcp,
                OptionalLong.empty());
    }

    public ConntrackEntry withStatus(int status) {
        return new ConntrackEntry(family, protocol, original, reply, status, timeoutSeconds, mark, zone, tcp, id);
    }

    public ConntrackEntry withMark(int mark) {
        return new ConntrackEntry(family, protocol, original, reply, status, timeoutSeconds, mark, zone, tcp, id);
    }

    /** The identity of the flow on any host: family, protocol, zone and both tuples. */
    public boolean sameFlow(ConntrackEntry o) {
        return family == o.family && protocol == o.protocol && zone == o.zone && original.equals(o.original)
                && reply.equals(o.reply);
    }

    public String protocolName() {
        return switch (protocol) {
            case ICMP -> "icmp";
            case TCP -> "tcp";
            case UDP -> "udp";
            case DCCP -> "dccp";
            case GRE -> "gre";
            case ICMPV6 -> "icmpv6";
            case SCTP -> "sctp";
            case UDPLITE -> "udplite";
            default -> "proto " + protocol;
        };
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder().append(protocolName()).append(' ');
        if (tcp != null) {
            s.append(TcpInfo.stateName(tcp.state())).append(' ');
        }
        s.append(original).append(" | ").append(reply).append(" status=0x").append(Integer.toHexString(status))
                .append(" timeout=").append(timeoutSeconds);
        if (mark != 0) {
            s.append(" mark=").append(Integer.toUnsignedString(mark));
        }
        if (zone != 0) {
            s.append(" zone=").append(zone);
        }
        id.ifPresent(v -> s.append(" id=").append(v));
        return s.toString();
    }

    private static void check(String what, int v, int max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException(what + " " + v + " outside 0.." + max);
        }
    }
}
