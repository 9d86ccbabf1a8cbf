package dev.tandem.linux;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * ctnetlink (NETLINK_NETFILTER, subsystem CTNETLINK) messages to and from {@link ConntrackEntry}, in
 * plain Java so that it can be fuzzed.
 *
 * <p>Byte order: the netlink header and every attribute header (nla_len, nla_type) are host order;
 * nfgenmsg.res_id and every ctnetlink attribute payload (status, timeout, mark, zone, id, ports, ICMP
 * id) are big-endian; addresses are raw network-order bytes; u8 payloads have no order. Nested
 * attributes are written with NLA_F_NESTED; attribute types are masked with 0x3fff when read.
 *
 * <p>Decoding is strict: every length is checked against its enclosing attribute, fixed-size payloads
 * must have their exact size, and anything malformed throws {@link DecodeException} naming the problem.
 * Unknown attributes are skipped; of repeated attributes the last wins (as in the kernel's nla_parse).
 */
public final class ConntrackCodec {
    public static final int NFNL_SUBSYS_CTNETLINK = 1;
    public static final int IPCTNL_MSG_CT_NEW = 0;
    public static final int IPCTNL_MSG_CT_GET = 1;
    public static final int IPCTNL_MSG_CT_DELETE = 2;
    public static final int CT_NEW = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
    public static final int CT_GET = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
    public static final int CT_DELETE = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;

    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int NLM_F_REQUEST = 1;
    public static final int NLM_F_MULTI = 2;
    public static final int NLM_F_ACK = 4;
    public static final int NLM_F_DUMP_INTR = 0x10;
    public static final int NLM_F_EXCL = 0x200;
    public static final int NLM_F_CREATE = 0x400;
    public static final int NLM_F_DUMP = 0x300;
    static final int NLA_F_NESTED = 0x8000;
    static final int NLA_TYPE_MASK = 0x3fff;

    // enum ctattr_type
    static final int CTA_TUPLE_ORIG = 1;
    static final int CTA_TUPLE_REPLY = 2;
    static final int CTA_STATUS = 3;
    static final int CTA_PROTOINFO = 4;
    static final int CTA_NAT_SRC = 6;
    static final int CTA_TIMEOUT = 7;
    static final int CTA_MARK = 8;
    static final int CTA_ID = 12;
    static final int CTA_NAT_DST = 13;
    static final int CTA_ZONE = 18;
    // enum ctattr_tuple
    static final int CTA_TUPLE_IP = 1;
    static final int CTA_TUPLE_PROTO = 2;
    // enum ctattr_ip
    static final int CTA_IP_V4_SRC = 1;
    static final int CTA_IP_V4_DST = 2;
    static final int CTA_IP_V6_SRC = 3;
    static final int CTA_IP_V6_DST = 4;
    // enum ctattr_l4proto
    static final int CTA_PROTO_NUM = 1;
    static final int CTA_PROTO_SRC_PORT = 2;
    static final int CTA_PROTO_DST_PORT = 3;
    static final int CTA_PROTO_ICMP_ID = 4;
    static final int CTA_PROTO_ICMP_TYPE = 5;
    static final int CTA_PROTO_ICMP_CODE = 6;
    static final int CTA_PROTO_ICMPV6_ID = 7;
    static final int CTA_PROTO_ICMPV6_TYPE = 8;
    static final int CTA_PROTO_ICMPV6_CODE = 9;
    // enum ctattr_protoinfo, ctattr_protoinfo_tcp
    static final int CTA_PROTOINFO_TCP = 1;
    static final int CTA_PROTOINFO_TCP_STATE = 1;
    static final int CTA_PROTOINFO_TCP_WSCALE_ORIGINAL = 2;
    static final int CTA_PROTOINFO_TCP_WSCALE_REPLY = 3;
    static final int CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
    static final int CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;
    // enum ctattr_nat, ctattr_protonat
    static final int CTA_NAT_V4_MINIP = 1;
    static final int CTA_NAT_PROTO = 3;
    static final int CTA_NAT_V6_MINIP = 4;
    static final int CTA_PROTONAT_PORT_MIN = 1;

    /** TCP_CONNTRACK_MAX: the kernel refuses states at or above it. */
    static final int TCP_STATES = 10;
    /** Upper bound of one encoded request (an IPv6 create with NAT and TCP info is about 400 bytes). */
    public static final int MAX_MESSAGE_BYTES = 512;

    /** Anything malformed in a ctnetlink message; the only exception the decoder throws. */
    public static final class DecodeException extends Exception {
        public DecodeException(String message) {
            super(message);
        }
    }

    /** Receives the messages of one datagram: header fields and where the message lies in the buffer. */
    @FunctionalInterface
    public interface MessageVisitor {
        void message(int type, int flags, int seq, byte[] buf, int offset, int length) throws DecodeException;
    }

    /** The three requests that change the table. */
    public enum Request {
        /** IPCTNL_MSG_CT_NEW + NLM_F_CREATE|NLM_F_EXCL: creates the entry, EEXIST if it is there. */
        CREATE,
        /** IPCTNL_MSG_CT_NEW without NLM_F_CREATE / NLM_F_EXCL: changes an existing entry, ENOENT if absent. */
        UPDATE,
        /** IPCTNL_MSG_CT_DELETE by original tuple (and zone). */
        DELETE
    }

    private ConntrackCodec() {}

    // ------------------------------------------------------------------------------------------ decoding

    /**
     * Calls the visitor for each netlink message of a datagram (buf[0..length)). A truncated or
     * inconsistent header throws; trailing bytes shorter than a header are ignored as padding.
     */
    public static void forEachMessage(byte[] buf, int length, MessageVisitor visitor) throws DecodeException {
        forEachMessage(buf, 0, length, visitor);
    }

    /** The same for a datagram at buf[start..start+length) (offsets given to the visitor are into buf). */
    public static void forEachMessage(byte[] buf, int start, int length, MessageVisitor visitor) throws DecodeException {
        if (start < 0 || length < 0 || length > buf.length - start) {
            throw new DecodeException("datagram length " + length + " outside the " + buf.length + "-byte buffer");
        }
        int off = start;
        int end = start + length;
        while (end - off >= 16) {
            int len = le32(buf, off);
            if (len < 16 || len > end - off) {
                throw new DecodeException("nlmsg_len " + Integer.toUnsignedString(len) + " at offset " + (off - start)
                        + " does not fit the " + length + "-byte datagram");
            }
            visitor.message(le16(buf, off + 4), le16(buf, off + 6), le32(buf, off + 8), buf, off, len);
            off += align(len);
            if (off < 0) {
                return;
            }
        }
    }

    /** Decodes one whole message (a byte array holding exactly one netlink message). */
    public static ConntrackEntry decode(byte[] message) throws DecodeException {
        return decode(message, 0, message.length);
    }

    /** The event a kernel notification stands for (NEW = CT_NEW with NLM_F_CREATE, UPDATE = CT_NEW, DESTROY). */
    public static ConntrackEvent decodeEvent(byte[] buf, int offset, int length) throws DecodeException {
        ConntrackView v = SCRATCH.get();
        decodeInto(buf, offset, length, v);
        return new ConntrackEvent(v.type(), v.toEntry());
    }

    /**
     * Decodes the netlink message at buf[offset..offset+length): nlmsghdr, nfgenmsg, attributes.
     * Accepts IPCTNL_MSG_CT_NEW and IPCTNL_MSG_CT_DELETE (events and dump replies).
     */
    public static ConntrackEntry decode(byte[] buf, int offset, int length) throws DecodeException {
        ConntrackView v = SCRATCH.get();
        decodeInto(buf, offset, length, v);
        return v.toEntry();
    }

    /** decode() and decodeEvent() go through one view per thread (a dump decodes a million entries). */
    private static final ThreadLocal<ConntrackView> SCRATCH = ThreadLocal.withInitial(ConntrackView::new);

    /**
     * Decodes like {@link #decode(byte[], int, int)}, with the same checks, into a reusable view instead
     * of a new entry (no allocation unless the message is malformed). The view's type is the event the
     * message stands for (NEW = CT_NEW with NLM_F_CREATE, UPDATE = CT_NEW, DESTROY = CT_DELETE). On a
     * DecodeException the view holds garbage.
     */
    public static void decodeInto(byte[] buf, int offset, int length, ConntrackView out) throws DecodeException {
        if (buf == null || offset < 0 || length < 0 || offset > buf.length - length) {
            throw new DecodeException("message bounds offset " + offset + " length " + length + " outside the buffer");
        }
        if (length < 20) {
            throw new DecodeException("message of " + length + " bytes is shorter than nlmsghdr + nfgenmsg (20)");
        }
        int len = le32(buf, offset);
        if (len < 20 || len > length) {
            throw new DecodeException("nlmsg_len " + Integer.toUnsignedString(len) + " outside 20.." + length);
        }
        int type = le16(buf, offset + 4);
        if (type != CT_NEW && type != CT_DELETE) {
            throw new DecodeException("message type 0x" + Integer.toHexString(type)
                    + " is not IPCTNL_MSG_CT_NEW or IPCTNL_MSG_CT_DELETE of ctnetlink");
        }
        int af = buf[offset + 16] & 0xff;
        ConntrackEntry.Family family = af == Libc.AF_INET ? ConntrackEntry.Family.IPV4
                : af == Libc.AF_INET6 ? ConntrackEntry.Family.IPV6 : null;
        if (family == null) {
            throw new DecodeException("nfgen_family " + af + " is neither AF_INET nor AF_INET6");
        }
        int flags = le16(buf, offset + 6);
        out.type = type == CT_DELETE ? ConntrackEvent.Type.DESTROY
                : (flags & NLM_F_CREATE) != 0 ? ConntrackEvent.Type.NEW : ConntrackEvent.Type.UPDATE;
        out.family = family;
        int origProto = -1;
        int replyProto = -1;
        out.status = 0;
        out.timeoutSeconds = 0;
        out.mark = 0;
        out.zone = 0;
        out.hasTcp = false;
        out.hasId = false;
        out.id = 0;
        int end = offset + len;
        int p = offset + 20;
        while (p < end) {
            int alen = attrLength(buf, p, end, "ctnetlink attribute");
            int at = le16(buf, p + 2) & NLA_TYPE_MASK;
            int v = p + 4;
            int vlen = alen - 4;
            switch (at) {
                case CTA_TUPLE_ORIG -> origProto = tuple(buf, v, v + vlen, family, ORIG_LABELS, out, ConntrackView.ORIGINAL);
                case CTA_TUPLE_REPLY -> replyProto = tuple(buf, v, v + vlen, family, REPLY_LABELS, out, ConntrackView.REPLY);
                case CTA_STATUS -> out.status = be32(buf, v, vlen, "CTA_STATUS");
                case CTA_TIMEOUT -> out.timeoutSeconds = be32(buf, v, vlen, "CTA_TIMEOUT") & 0xffffffffL;
                case CTA_MARK -> out.mark = be32(buf, v, vlen, "CTA_MARK");
                case CTA_ZONE -> out.zone = be16(buf, v, vlen, "CTA_ZONE");
                case CTA_ID -> {
                    out.id = be32(buf, v, vlen, "CTA_ID") & 0xffffffffL;
                    out.hasId = true;
                }
                case CTA_PROTOINFO -> protoinfo(buf, v, v + vlen, out);
                default -> { } // counters, use, timestamps, labels, helper, ...: not carried
            }
            p += align(alen);
        }
        if (origProto < 0) {
            throw new DecodeException("no CTA_TUPLE_ORIG");
        }
        if (replyProto < 0) {
            throw new DecodeException("no CTA_TUPLE_REPLY");
        }
        if (origProto != replyProto) {
            throw new DecodeException("CTA_TUPLE_ORIG protocol " + origProto + " differs from CTA_TUPLE_REPLY protocol "
                    + replyProto);
        }
        out.protocol = origProto;
        if (out.hasTcp && origProto != ConntrackEntry.TCP) {
            out.hasTcp = false; // the kernel only sends TCP protoinfo for TCP; never attach it to another protocol
        }
    }

    /** Names of a tuple's attributes in error messages, built once (not per message decoded). */
    private record Labels(String tuple, String ip, String proto, String num, String sport, String dport, String icmpId,
                          String icmpType, String icmpCode) {
        static Labels of(String t) {
            return new Labels(t, t + "/CTA_TUPLE_IP", t + "/CTA_TUPLE_PROTO", t + "/CTA_PROTO_NUM", t + "/CTA_PROTO_SRC_PORT",
                    t + "/CTA_PROTO_DST_PORT", t + "/ICMP id", t + "/ICMP type", t + "/ICMP code");
        }
    }

    private static final Labels ORIG_LABELS = Labels.of("CTA_TUPLE_ORIG");
    private static final Labels REPLY_LABELS = Labels.of("CTA_TUPLE_REPLY");

    /** Parses one tuple into the view's slots for direction d (replacing them whole); returns its protocol. */
    private static int tuple(byte[] b, int start, int end, ConntrackEntry.Family family, Labels l, ConntrackView out,
            int d) throws DecodeException {
        String what = l.tuple();
        int src = -1;
        int dst = -1;
        int proto = -1;
        int sport = -1;
        int dport = -1;
        int icmpId = -1;
        int icmpType = -1;
        int icmpCode = -1;
        int p = start;
        while (p < end) {
            int alen = attrLength(b, p, end, what);
            int at = le16(b, p + 2) & NLA_TYPE_MASK;
            int v = p + 4;
            int vend = p + alen;
            if (at == CTA_TUPLE_IP) {
                int q = v;
                while (q < vend) {
                    int ilen = attrLength(b, q, vend, l.ip());
                    int it = le16(b, q + 2) & NLA_TYPE_MASK;
                    switch (it) {
                        case CTA_IP_V4_SRC, CTA_IP_V4_DST, CTA_IP_V6_SRC, CTA_IP_V6_DST -> {
                            boolean v6 = it == CTA_IP_V6_SRC || it == CTA_IP_V6_DST;
                            if (v6 != (family == ConntrackEntry.Family.IPV6)) {
                                throw new DecodeException(what + ": an " + (v6 ? "IPv6" : "IPv4")
                                        + " address in an " + family + " message");
                            }
                            int want = v6 ? 16 : 4;
                            if (ilen - 4 != want) {
                                throw new DecodeException(what + ": address of " + (ilen - 4) + " bytes, expected " + want);
                            }
                            if (it == CTA_IP_V4_SRC || it == CTA_IP_V6_SRC) {
                                src = q + 4;
                            } else {
                                dst = q + 4;
                            }
                        }
                        default -> { }
                    }
                    q += align(ilen);
                }
            } else if (at == CTA_TUPLE_PROTO) {
                int q = v;
                while (q < vend) {
                    int plen = attrLength(b, q, vend, l.proto());
                    int pt = le16(b, q + 2) & NLA_TYPE_MASK;
                    int pv = q + 4;
                    int pvlen = plen - 4;
                    switch (pt) {
                        case CTA_PROTO_NUM -> proto = u8(b, pv, pvlen, l.num());
                        case CTA_PROTO_SRC_PORT -> sport = be16(b, pv, pvlen, l.sport());
                        case CTA_PROTO_DST_PORT -> dport = be16(b, pv, pvlen, l.dport());
                        case CTA_PROTO_ICMP_ID, CTA_PROTO_ICMPV6_ID -> icmpId = be16(b, pv, pvlen, l.icmpId());
                        case CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMPV6_TYPE -> icmpType = u8(b, pv, pvlen, l.icmpType());
                        case CTA_PROTO_ICMP_CODE, CTA_PROTO_ICMPV6_CODE -> icmpCode = u8(b, pv, pvlen, l.icmpCode());
                        default -> { }
                    }
                    q += align(plen);
                }
            }
            p += align(alen);
        }
        if (src < 0 || dst < 0) {
            throw new DecodeException(what + ": source or destination address missing");
        }
        if (proto < 0) {
            throw new DecodeException(what + ": no CTA_PROTO_NUM");
        }
        int n = family.addressLength();
        System.arraycopy(b, src, out.source[d], 0, n);
        System.arraycopy(b, dst, out.destination[d], 0, n);
        out.sourcePort[d] = 0;
        out.destinationPort[d] = 0;
        out.icmpId[d] = 0;
        out.icmpType[d] = 0;
        out.icmpCode[d] = 0;
        if (ConntrackEntry.isIcmp(proto)) {
            if (icmpId < 0 || icmpType < 0 || icmpCode < 0) {
                throw new DecodeException(what + ": ICMP id, type or code missing");
            }
            out.icmpId[d] = icmpId;
            out.icmpType[d] = icmpType;
            out.icmpCode[d] = icmpCode;
            return proto;
        }
        if ((proto == ConntrackEntry.TCP || proto == ConntrackEntry.UDP) && (sport < 0 || dport < 0)) {
            throw new DecodeException(what + ": " + (proto == ConntrackEntry.TCP ? "TCP" : "UDP") + " ports missing");
        }
        if (ConntrackEntry.hasPorts(proto)) {
            out.sourcePort[d] = Math.max(sport, 0);
            out.destinationPort[d] = Math.max(dport, 0);
        }
        return proto;
    }

    /** CTA_PROTOINFO: its TCP part (the last one wins) into the view; other protocols' info is not carried. */
    private static void protoinfo(byte[] b, int start, int end, ConntrackView out) throws DecodeException {
        int p = start;
        while (p < end) {
            int alen = attrLength(b, p, end, "CTA_PROTOINFO");
            int at = le16(b, p + 2) & NLA_TYPE_MASK;
            if (at == CTA_PROTOINFO_TCP) {
                int state = -1;
                int wo = 0;
                int wr = 0;
                int fo = 0;
                int fr = 0;
                int vend = p + alen;
                int q = p + 4;
                while (q < vend) {
                    int tlen = attrLength(b, q, vend, "CTA_PROTOINFO_TCP");
                    int tt = le16(b, q + 2) & NLA_TYPE_MASK;
                    int tv = q + 4;
                    int tvlen = tlen - 4;
                    switch (tt) {
                        case CTA_PROTOINFO_TCP_STATE -> state = u8(b, tv, tvlen, "CTA_PROTOINFO_TCP_STATE");
                        case CTA_PROTOINFO_TCP_WSCALE_ORIGINAL -> wo = u8(b, tv, tvlen, "CTA_PROTOINFO_TCP_WSCALE_ORIGINAL");
                        case CTA_PROTOINFO_TCP_WSCALE_REPLY -> wr = u8(b, tv, tvlen, "CTA_PROTOINFO_TCP_WSCALE_REPLY");
                        case CTA_PROTOINFO_TCP_FLAGS_ORIGINAL -> fo = tcpFlags(b, tv, tvlen, "CTA_PROTOINFO_TCP_FLAGS_ORIGINAL");
                        case CTA_PROTOINFO_TCP_FLAGS_REPLY -> fr = tcpFlags(b, tv, tvlen, "CTA_PROTOINFO_TCP_FLAGS_REPLY");
                        default -> { }
                    }
                    q += align(tlen);
                }
                if (state < 0) {
                    throw new DecodeException("CTA_PROTOINFO_TCP without CTA_PROTOINFO_TCP_STATE");
                }
                out.hasTcp = true;
                out.tcpState = state;
                out.tcpOriginalWindowScale = wo;
                out.tcpReplyWindowScale = wr;
                out.tcpOriginalFlags = fo;
                out.tcpReplyFlags = fr;
            }
            p += align(alen);
        }
    }

    /** struct nf_ct_tcp_flags { u8 flags; u8 mask; }: the flags. */
    private static int tcpFlags(byte[] b, int v, int vlen, String what) throws DecodeException {
        if (vlen != 2) {
            throw new DecodeException(what + " of " + vlen + " bytes, expected 2");
        }
        return b[v] & 0xff;
    }

    /** Validates the attribute header at p within [p, end) and returns nla_len (>= 4, fits). */
    private static int attrLength(byte[] b, int p, int end, String what) throws DecodeException {
        if (end - p < 4) {
            throw new DecodeException(what + ": " + (end - p) + " trailing bytes at offset " + p
                    + ", too short for an attribute header");
        }
        int alen = le16(b, p);
        if (alen < 4 || alen > end - p) {
            throw new DecodeException(what + ": attribute type " + (le16(b, p + 2) & NLA_TYPE_MASK) + " length " + alen
                    + " at offset " + p + " does not fit the " + (end - p) + " bytes left");
        }
        return alen;
    }

    private static int u8(byte[] b, int v, int vlen, String what) throws DecodeException {
        if (vlen != 1) {
            throw new DecodeException(what + " of " + vlen + " bytes, expected 1");
        }
        return b[v] & 0xff;
    }

    private static int be16(byte[] b, int v, int vlen, String what) throws DecodeException {
        if (vlen != 2) {
            throw new DecodeException(what + " of " + vlen + " bytes, expected 2");
        }
        return (b[v] & 0xff) << 8 | (b[v + 1] & 0xff);
    }

    private static int be32(byte[] b, int v, int vlen, String what) throws DecodeException {
        if (vlen != 4) {
            throw new DecodeException(what + " of " + vlen + " bytes, expected 4");
        }
        return (b[v] & 0xff) << 24 | (b[v + 1] & 0xff) << 16 | (b[v + 2] & 0xff) << 8 | (b[v + 3] & 0xff);
    }

    static int le16(byte[] b, int off) {
        return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
                ? (b[off] & 0xff) | (b[off + 1] & 0xff) << 8
                : (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    static int le32(byte[] b, int off) {
        return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
                ? (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24
                : (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }

    static int align(int n) {
        return (n + 3) & ~3;
    }

    // ------------------------------------------------------------------------------------------ encoding

    /** A complete request with NLM_F_ACK (a lone request wants its answer). */
    public static byte[] encode(Request request, ConntrackEntry e, int seq) {
        ByteBuffer b = ByteBuffer.allocate(MAX_MESSAGE_BYTES).order(ByteOrder.nativeOrder());
        write(b, request, e, seq, NLM_F_ACK);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    /** IPCTNL_MSG_CT_NEW that creates the entry (NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK). */
    public static byte[] create(ConntrackEntry e, int seq) {
        return encode(Request.CREATE, e, seq);
    }

    /** IPCTNL_MSG_CT_NEW that changes an existing entry: status, timeout, mark, TCP info (NLM_F_ACK). */
    public static byte[] update(ConntrackEntry e, int seq) {
        return encode(Request.UPDATE, e, seq);
    }

    /** IPCTNL_MSG_CT_DELETE of the entry with this original tuple and zone (NLM_F_ACK). */
    public static byte[] delete(ConntrackEntry e, int seq) {
        return encode(Request.DELETE, e, seq);
    }

    /** IPCTNL_MSG_CT_GET dump of every family (AF_UNSPEC). */
    public static byte[] dumpRequest(int seq) {
        return header(CT_GET, NLM_F_REQUEST | NLM_F_DUMP, seq, 0);
    }

    /** IPCTNL_MSG_CT_DELETE without attributes: flushes the table of every family (NLM_F_ACK). */
    public static byte[] flushRequest(int seq) {
        return header(CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq, 0);
    }

    private static byte[] header(int type, int flags, int seq, int family) {
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        b.putInt(20).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
        b.put((byte) family).put((byte) 0).putShort((short) 0);
        return b.array();
    }

    /**
     * The status a request may carry: the kernel refuses (EBUSY) to change EXPECTED, CONFIRMED or DYING,
     * and a created entry is CONFIRMED and not EXPECTED; NAT bits are ignored by it (NAT comes from
     * CTA_NAT_SRC / CTA_NAT_DST).
     */
    static int requestStatus(int status) {
        return (status | ConntrackEntry.IPS_CONFIRMED) & ~(ConntrackEntry.IPS_EXPECTED | ConntrackEntry.IPS_DYING);
    }

    /** write() of an entry goes through one view per thread. */
    private static final ThreadLocal<ConntrackView> ENCODE_SCRATCH = ThreadLocal.withInitial(ConntrackView::new);

    /** {@link #write(ByteBuffer, Request, ConntrackView, int, int)} of an entry. */
    static int write(ByteBuffer b, Request request, ConntrackEntry e, int seq, int extraFlags) {
        return write(b, request, ENCODE_SCRATCH.get().load(e), seq, extraFlags);
    }

    /**
     * Writes one request for the entry a view holds at b's position (b in native order, at least
     * {@link #MAX_MESSAGE_BYTES} remaining) and returns its length. extraFlags is ORed into NLM_F_REQUEST
     * and the request's flags.
     */
    static int write(ByteBuffer b, Request request, ConntrackView e, int seq, int extraFlags) {
        if (b.remaining() < MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("need " + MAX_MESSAGE_BYTES + " bytes, " + b.remaining() + " left");
        }
        int start = b.position();
        int type = request == Request.DELETE ? CT_DELETE : CT_NEW;
        int flags = NLM_F_REQUEST | extraFlags | (request == Request.CREATE ? NLM_F_CREATE | NLM_F_EXCL : 0);
        b.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
        b.put((byte) e.family().af()).put((byte) 0).putShort((short) 0);
        int protocol = e.protocol();
        tuple(b, CTA_TUPLE_ORIG, e, ConntrackView.ORIGINAL, false);
        if (request != Request.DELETE) {
            boolean snat = request == Request.CREATE && e.isSourceNat();
            boolean dnat = request == Request.CREATE && e.isDestinationNat();
            boolean nat = snat || dnat;
            // with NAT, the kernel derives the translated reply tuple from CTA_NAT_* and the untranslated one
            // (nf_nat_setup_info sets IPS_SRC_NAT / IPS_DST_NAT, which packet mangling needs, only when the
            // translation changes the reply tuple: given the translated one, it would set neither)
            tuple(b, CTA_TUPLE_REPLY, e, nat ? ConntrackView.ORIGINAL : ConntrackView.REPLY, nat);
            be32(b, CTA_STATUS, requestStatus(e.status()));
            be32(b, CTA_TIMEOUT, (int) e.timeoutSeconds());
            if (request != Request.CREATE || e.mark() != 0) {
                be32(b, CTA_MARK, e.mark()); // a new entry's mark is 0 already; an update may have to clear one
            }
            if (e.hasTcp() && protocol == ConntrackEntry.TCP) {
                int pi = nest(b, CTA_PROTOINFO);
                int pt = nest(b, CTA_PROTOINFO_TCP);
                u8(b, CTA_PROTOINFO_TCP_STATE, e.tcpState());
                u8(b, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, e.tcpOriginalWindowScale());
                u8(b, CTA_PROTOINFO_TCP_WSCALE_REPLY, e.tcpReplyWindowScale());
                // struct nf_ct_tcp_flags { flags, mask }: the kernel applies flags under the mask
                attrHeader(b, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, 2);
                b.put((byte) e.tcpOriginalFlags()).put((byte) 0xff).putShort((short) 0);
                attrHeader(b, CTA_PROTOINFO_TCP_FLAGS_REPLY, 2);
                b.put((byte) e.tcpReplyFlags()).put((byte) 0xff).putShort((short) 0);
                end(b, pt);
                end(b, pi);
            }
            if (nat) {
                // the kernel sets up NAT only from these (and refuses them on an existing entry)
                boolean ports = ConntrackEntry.hasPorts(protocol) || ConntrackEntry.isIcmp(protocol);
                int r = ConntrackView.REPLY;
                if (dnat) {
                    // an ICMP query keeps its id both ways: the id, not the (absent) port, is what MIN fixes
                    nat(b, CTA_NAT_DST, e.source(r), e.addressLength(), ports,
                            ConntrackEntry.isIcmp(protocol) ? e.icmpId(r) : e.sourcePort(r));
                } else if (ports) {
                    // SNAT alone: the kernel would give the DST side a null binding, which looks the tuple up
                    // in the hash once more (it may not change a DST port anyway); an exact identity range
                    // ends with the same tuple and status bits without that lookup
                    int o = ConntrackView.ORIGINAL;
                    nat(b, CTA_NAT_DST, e.destination(o), e.addressLength(), true,
                            ConntrackEntry.isIcmp(protocol) ? e.icmpId(o) : e.destinationPort(o));
                }
                if (snat) {
                    nat(b, CTA_NAT_SRC, e.destination(r), e.addressLength(), ports,
                            ConntrackEntry.isIcmp(protocol) ? e.icmpId(r) : e.destinationPort(r));
                }
            }
        }
        if (e.zone() != 0) {
            attrHeader(b, CTA_ZONE, 2);
            b.put((byte) (e.zone() >>> 8)).put((byte) e.zone()).putShort((short) 0);
        }
        int len = b.position() - start;
        b.putInt(start, len);
        return len;
    }

    private static void nat(ByteBuffer b, int attr, byte[] to, int addressLength, boolean ports, int port) {
        int n = nest(b, attr);
        // a single address and port: the kernel takes an absent MAX as equal to MIN (fewer attributes to parse
        // per entry on the takeover path)
        bytes(b, addressLength == 16 ? CTA_NAT_V6_MINIP : CTA_NAT_V4_MINIP, to, addressLength);
        if (ports) {
            int p = nest(b, CTA_NAT_PROTO);
            be16(b, CTA_PROTONAT_PORT_MIN, port);
            end(b, p);
        }
        end(b, n);
    }

    /**
     * Writes tuple d of the view; inverted: the reply the kernel expects without NAT instead (addresses and
     * ports swapped, an ICMP query's reply type).
     */
    private static void tuple(ByteBuffer b, int attr, ConntrackView e, int d, boolean inverted) {
        int protocol = e.protocol();
        int n = nest(b, attr);
        int ip = nest(b, CTA_TUPLE_IP);
        boolean v6 = e.addressLength() == 16;
        bytes(b, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, inverted ? e.destination(d) : e.source(d), e.addressLength());
        bytes(b, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, inverted ? e.source(d) : e.destination(d), e.addressLength());
        end(b, ip);
        int pr = nest(b, CTA_TUPLE_PROTO);
        u8(b, CTA_PROTO_NUM, protocol);
        if (ConntrackEntry.isIcmp(protocol)) {
            boolean icmp6 = protocol == ConntrackEntry.ICMPV6;
            be16(b, icmp6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, e.icmpId(d));
            u8(b, icmp6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE,
                    inverted ? ConntrackEntry.replyIcmpType(protocol, e.icmpType(d)) : e.icmpType(d));
            u8(b, icmp6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, e.icmpCode(d));
        } else if (ConntrackEntry.hasPorts(protocol)) {
            be16(b, CTA_PROTO_SRC_PORT, inverted ? e.destinationPort(d) : e.sourcePort(d));
            be16(b, CTA_PROTO_DST_PORT, inverted ? e.sourcePort(d) : e.destinationPort(d));
        }
        end(b, pr);
        end(b, n);
    }

    private static void attrHeader(ByteBuffer b, int type, int payload) {
        b.putShort((short) (4 + payload)).putShort((short) type);
    }

    private static int nest(ByteBuffer b, int type) {
        int at = b.position();
        b.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
        return at;
    }

    private static void end(ByteBuffer b, int at) {
        b.putShort(at, (short) (b.position() - at));
    }

    private static void u8(ByteBuffer b, int type, int v) {
        attrHeader(b, type, 1);
        b.put((byte) v).put((byte) 0).putShort((short) 0);
    }

    private static void be16(ByteBuffer b, int type, int v) {
        attrHeader(b, type, 2);
        b.put((byte) (v >>> 8)).put((byte) v).putShort((short) 0);
    }

    private static void be32(ByteBuffer b, int type, int v) {
        attrHeader(b, type, 4);
        b.put((byte) (v >>> 24)).put((byte) (v >>> 16)).put((byte) (v >>> 8)).put((byte) v);
    }

    private static void bytes(ByteBuffer b, int type, byte[] v, int length) {
        attrHeader(b, type, length);
        b.put(v, 0, length); // 4 or 16 bytes: already aligned
    }
}
