package dev.tandem.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Parsing and building of rtnetlink messages in plain Java (no native memory), so that it can be
 * fuzzed. Netlink headers and rtnetlink payloads are host order (little-endian here); address
 * attributes are raw network-order bytes.
 */
public final class NetlinkMessages {
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int RTM_NEWLINK = 16;
    public static final int RTM_DELLINK = 17;
    public static final int RTM_GETLINK = 18;
    public static final int RTM_NEWADDR = 20;
    public static final int RTM_DELADDR = 21;
    public static final int RTM_GETADDR = 22;
    public static final int NLM_F_REQUEST = 1;
    public static final int NLM_F_MULTI = 2;
    public static final int NLM_F_ACK = 4;
    public static final int NLM_F_EXCL = 0x200;
    public static final int NLM_F_CREATE = 0x400;
    public static final int NLM_F_DUMP = 0x300;
    public static final int IFLA_ADDRESS = 1;
    public static final int IFLA_IFNAME = 3;
    public static final int IFA_ADDRESS = 1;
    public static final int IFA_LOCAL = 2;
    public static final int IFA_FLAGS = 8;
    public static final int IFA_F_NODAD = 0x02;
    public static final int IFF_UP = 0x1;
    public static final int IFF_LOWER_UP = 0x10000;

    /** Thrown for any malformed netlink data; the only exception the parsers throw. */
    public static final class MalformedMessageException extends Exception {
        public MalformedMessageException(String m) {
            super(m);
        }
    }

    /** One netlink message: header fields and its payload (after the 16-byte header). */
    public record Message(int type, int flags, int seq, byte[] payload) {}

    private NetlinkMessages() {}

    /** Splits a datagram into messages. */
    public static List<Message> split(byte[] data, int length) throws MalformedMessageException {
        if (length < 0 || length > data.length) {
            throw new MalformedMessageException("length " + length + " outside the buffer");
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, length).order(ByteOrder.nativeOrder());
        List<Message> out = new ArrayList<>();
        int off = 0;
        while (off + 16 <= length) {
            int len = b.getInt(off);
            int type = b.getShort(off + 4) & 0xffff;
            int flags = b.getShort(off + 6) & 0xffff;
            int seq = b.getInt(off + 8);
            if (len < 16 || len > length - off) {
                throw new MalformedMessageException("netlink message length " + len + " at offset " + off
                        + " does not fit the " + length + "-byte datagram");
            }
            byte[] payload = new byte[len - 16];
            System.arraycopy(data, off + 16, payload, 0, payload.length);
            out.add(new Message(type, flags, seq, payload));
            off += align(len);
        }
        return out;
    }

    static int align(int n) {
        return (n + 3) & ~3;
    }

    /** Parses rtattrs starting at offset; returns type (masked with 0x3fff) -> value bytes (first wins). */
    public static Map<Integer, byte[]> attributes(byte[] p, int offset) throws MalformedMessageException {
        Map<Integer, byte[]> attrs = new HashMap<>();
        ByteBuffer b = ByteBuffer.wrap(p).order(ByteOrder.nativeOrder());
        int off = offset;
        for (int guard = 0; off + 4 <= p.length && guard < 4096; guard++) {
            int len = b.getShort(off) & 0xffff;
            int type = b.getShort(off + 2) & 0x3fff;
            if (len < 4 || len > p.length - off) {
                throw new MalformedMessageException("attribute length " + len + " at offset " + off);
            }
            byte[] v = new byte[len - 4];
            System.arraycopy(p, off + 4, v, 0, v.length);
            attrs.putIfAbsent(type, v);
            off += align(len);
        }
        return attrs;
    }

    /** The negative errno of an NLMSG_ERROR payload (0 = ack). */
    public static int error(Message m) throws MalformedMessageException {
        if (m.payload().length < 4) {
            throw new MalformedMessageException("NLMSG_ERROR without an error code");
        }
        return ByteBuffer.wrap(m.payload()).order(ByteOrder.nativeOrder()).getInt(0);
    }

    /** RTM_NEWLINK / RTM_DELLINK payload: struct ifinfomsg (16 bytes) + attributes. */
    public static Rtnetlink.Link link(Message m) throws MalformedMessageException {
        byte[] p = m.payload();
        if (p.length < 16) {
            throw new MalformedMessageException("ifinfomsg too short: " + p.length);
        }
        ByteBuffer b = ByteBuffer.wrap(p).order(ByteOrder.nativeOrder());
        int index = b.getInt(4);
        int flags = b.getInt(8);
        Map<Integer, byte[]> a = attributes(p, 16);
        byte[] nameBytes = a.get(IFLA_IFNAME);
        String name = nameBytes == null ? "" : cString(nameBytes);
        byte[] mac = a.getOrDefault(IFLA_ADDRESS, new byte[0]);
        boolean up = m.type() != RTM_DELLINK && (flags & IFF_UP) != 0 && (flags & IFF_LOWER_UP) != 0;
        return new Rtnetlink.Link(index, name, up, mac);
    }

    /** RTM_NEWADDR payload: struct ifaddrmsg (8 bytes) + attributes. */
    public static Rtnetlink.InterfaceAddress address(Message m) throws MalformedMessageException {
        byte[] p = m.payload();
        if (p.length < 8) {
            throw new MalformedMessageException("ifaddrmsg too short: " + p.length);
        }
        int family = p[0] & 0xff;
        int prefix = p[1] & 0xff;
        int flags = p[2] & 0xff;
        int index = ByteBuffer.wrap(p).order(ByteOrder.nativeOrder()).getInt(4);
        Map<Integer, byte[]> a = attributes(p, 8);
        byte[] addr = a.containsKey(IFA_LOCAL) ? a.get(IFA_LOCAL) : a.get(IFA_ADDRESS);
        int want = family == Libc.AF_INET6 ? 16 : family == Libc.AF_INET ? 4 : -1;
        if (addr == null || addr.length != want) {
            throw new MalformedMessageException("address attribute missing or of the wrong size for family " + family);
        }
        if (a.get(IFA_FLAGS) != null && a.get(IFA_FLAGS).length >= 4) {
            flags = ByteBuffer.wrap(a.get(IFA_FLAGS)).order(ByteOrder.nativeOrder()).getInt(0);
        }
        return new Rtnetlink.InterfaceAddress(index, addr, prefix, flags);
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    /** Builds one request: header + fixed payload + attributes (type, value) pairs. */
    public static byte[] request(int type, int flags, int seq, byte[] fixed, List<Map.Entry<Integer, byte[]>> attrs) {
        int len = 16 + align(fixed.length);
        for (Map.Entry<Integer, byte[]> e : attrs) {
            len += align(4 + e.getValue().length);
        }
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.nativeOrder());
        b.putInt(len).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
        b.put(fixed);
        b.position(16 + align(fixed.length));
        for (Map.Entry<Integer, byte[]> e : attrs) {
            int start = b.position();
            b.putShort((short) (4 + e.getValue().length)).putShort(e.getKey().shortValue()).put(e.getValue());
            b.position(start + align(4 + e.getValue().length));
        }
        return b.array();
    }
}
