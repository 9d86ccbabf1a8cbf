package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6) on one interface, as
 * complete Ethernet frames over an AF_PACKET socket (protocol 0: it sends, it never receives).
 */
public final class NeighbourAnnouncer implements AutoCloseable {
    private static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    private static final byte[] ALL_NODES_MAC = {0x33, 0x33, 0, 0, 0, 1};
    private static final byte[] ALL_NODES = {(byte) 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    private final String ifname;
    private final int ifindex;
    private final byte[] mac;
    private final byte[] linkLocal;
    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final MemorySegment buf;
    private final MemorySegment toBroadcast;
    private final MemorySegment toAllNodes;

    private NeighbourAnnouncer(String ifname, int ifindex, byte[] mac, byte[] linkLocal) {
        this.ifname = ifname;
        this.ifindex = ifindex;
        this.mac = mac;
        this.linkLocal = linkLocal;
        this.fd = Libc.socket(Libc.AF_PACKET, Libc.SOCK_RAW, 0);
        this.buf = arena.allocate(128, 8);
        this.toBroadcast = SockAddr.packet(arena, ifindex, 0x0806, BROADCAST);
        this.toAllNodes = SockAddr.packet(arena, ifindex, 0x86dd, ALL_NODES_MAC);
    }

    /** Looks up the interface's index, MAC and IPv6 link-local address (may be absent: then no NA). */
    public static NeighbourAnnouncer open(Rtnetlink rtnl, String ifname) {
        Rtnetlink.Link l = rtnl.link(ifname);
        if (l == null) {
            throw new IllegalArgumentException("no interface " + ifname);
        }
        if (l.mac().length != 6) {
            throw new IllegalArgumentException(ifname + " has no Ethernet address");
        }
        byte[] ll = null;
        for (Rtnetlink.InterfaceAddress a : rtnl.addresses(l.index())) {
            byte[] b = a.address();
            if (b.length == 16 && (b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0x80) {
                ll = b;
                break;
            }
        }
        return new NeighbourAnnouncer(ifname, l.index(), l.mac(), ll);
    }

    /** ARP request with sender = target = the address, to broadcast (what keepalived sends). */
    public void sendGratuitousArp(byte[] ipv4) {
        send(toBroadcast, arpFrame(mac, ipv4), "gratuitous ARP");
    }

    /** Unsolicited NA (router, override) for the address, to all nodes, from the link-local address. */
    public void sendUnsolicitedNeighbourAdvertisement(byte[] ipv6) {
        if (linkLocal == null) {
            throw new IllegalStateException(ifname + " has no IPv6 link-local address to send a neighbour advertisement from");
        }
        send(toAllNodes, naFrame(mac, linkLocal, ipv6), "unsolicited neighbour advertisement");
    }

    private synchronized void send(MemorySegment to, byte[] frame, String what) {
        MemorySegment.copy(frame, 0, buf, ValueLayout.JAVA_BYTE, 0, frame.length);
        Libc.sendto(fd, buf, frame.length, to, what + " on " + ifname);
    }

    /** 60-byte Ethernet frame (minimum size, zero padded). */
    public static byte[] arpFrame(byte[] mac, byte[] ip) {
        byte[] f = new byte[60];
        System.arraycopy(BROADCAST, 0, f, 0, 6);
        System.arraycopy(mac, 0, f, 6, 6);
        f[12] = 0x08;
        f[13] = 0x06;
        f[14] = 0; f[15] = 1;          // hardware type Ethernet
        f[16] = 0x08; f[17] = 0;       // protocol IPv4
        f[18] = 6; f[19] = 4;          // sizes
        f[20] = 0; f[21] = 1;          // request
        System.arraycopy(mac, 0, f, 22, 6);
        System.arraycopy(ip, 0, f, 28, 4);
        System.arraycopy(BROADCAST, 0, f, 32, 6);
        System.arraycopy(ip, 0, f, 38, 4);
        return f;
    }

    public static byte[] naFrame(byte[] mac, byte[] src, byte[] target) {
        int icmpLen = 24 + 8;
        byte[] f = new byte[14 + 40 + icmpLen];
        System.arraycopy(ALL_NODES_MAC, 0, f, 0, 6);
        System.arraycopy(mac, 0, f, 6, 6);
        f[12] = (byte) 0x86;
        f[13] = (byte) 0xdd;
        int ip = 14;
        f[ip] = 0x60;
        f[ip + 4] = 0;
        f[ip + 5] = (byte) icmpLen;
        f[ip + 6] = 58;                // ICMPv6
        f[ip + 7] = (byte) 255;        // hop limit: receivers drop anything else
        System.arraycopy(src, 0, f, ip + 8, 16);
        System.arraycopy(ALL_NODES, 0, f, ip + 24, 16);
        int ic = ip + 40;
        f[ic] = (byte) 136;            // neighbour advertisement
        f[ic + 4] = (byte) 0xa0;       // router + override, not solicited
        System.arraycopy(target, 0, f, ic + 8, 16);
        f[ic + 24] = 2;                // target link-layer address option
        f[ic + 25] = 1;                // length in units of 8 bytes
        System.arraycopy(mac, 0, f, ic + 26, 6);
        long sum = 0;
        for (int i = 0; i < 16; i += 2) {
            sum += ((src[i] & 0xff) << 8) | (src[i + 1] & 0xff);
            sum += ((ALL_NODES[i] & 0xff) << 8) | (ALL_NODES[i + 1] & 0xff);
        }
        sum += icmpLen + 58;
        for (int i = ic; i < ic + icmpLen; i += 2) {
            sum += ((f[i] & 0xff) << 8) | (f[i + 1] & 0xff);
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        int ck = (int) (~sum & 0xffff);
        f[ic + 2] = (byte) (ck >> 8);
        f[ic + 3] = (byte) ck;
        return f;
    }

    @Override
    public void close() {
        Libc.close(fd);
        arena.close();
    }
}
