package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Raw VRRP (IP protocol 112) sockets on one interface for one family. Two sockets: the sender is
 * bound to the node's own address (so the source, and with it the checksum pseudo-header, is the
 * one the caller computed with, even after VIPs were added); the receiver is unbound (a bound raw
 * socket drops packets not addressed to its address, multicast adverts included).
 */
public final class VrrpSocket implements AutoCloseable {
    private static final int PROTO_VRRP = 112;
    /** VRRPv3 carrying 255 IPv6 addresses: 8 + 255 * 16 bytes. */
    private static final int MAX_MESSAGE = 4088;
    /** A maximal message with its IPv4 header and options fits; anything longer is truncated and skipped. */
    private static final int BUF = 8192;
    /** Longest single wait in receive(): the closed flag is checked again at least this often. */
    private static final int WAIT_MS = 1000;
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /**
     * A received advert: IPv4 header stripped; ttlOrHopLimit from the header / IPV6_HOPLIMIT;
     * arrivedAt when the kernel received it, on the clock of System.nanoTime() ({@link ReceiveTime}).
     */
    public record Received(byte[] source, byte[] destination, int ttlOrHopLimit, byte[] payload, long arrivedAt) {}

    private final String ifname;
    private final boolean ipv6;
    private final int ifindex;
    private final Arena arena = Arena.ofShared();
    private final int sendFd;
    private final int recvFd;
    private final MemorySegment sendBuf;
    private final MemorySegment group;
    private final DatagramReceive rx;
    // every use of the descriptors and native buffers happens under one of these, after checking closed
    private final ReentrantLock sending = new ReentrantLock();
    private final ReentrantLock receiving = new ReentrantLock();
    private final int waitMs;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long truncated;

    private VrrpSocket(String ifname, boolean ipv6, byte[] source, int waitMs) {
        this.ifname = ifname;
        this.waitMs = waitMs;
        this.ipv6 = ipv6;
        this.ifindex = Libc.ifNameToIndex(ifname);
        int family = ipv6 ? Libc.AF_INET6 : Libc.AF_INET;
        int s = -1;
        int r = -1;
        try {
            s = Libc.socket(family, Libc.SOCK_RAW, PROTO_VRRP);
            r = Libc.socket(family, Libc.SOCK_RAW, PROTO_VRRP);
            MemorySegment dev = arena.allocateFrom(ifname);
            Libc.setsockopt(s, Libc.SOL_SOCKET, Libc.SO_BINDTODEVICE, dev, "SO_BINDTODEVICE " + ifname);
            Libc.setsockopt(r, Libc.SOL_SOCKET, Libc.SO_BINDTODEVICE, dev, "SO_BINDTODEVICE " + ifname);
            Libc.setsockoptInt(s, Libc.SOL_SOCKET, Libc.SO_RCVBUF, 4096, "SO_RCVBUF");
            Libc.setsockoptInt(r, Libc.SOL_SOCKET, Libc.SO_RCVBUF, 1 << 20, "SO_RCVBUF");
            ReceiveTime.enable(r, "VRRP on " + ifname);
            if (ipv6) {
                bindRetryingTentative(s, SockAddr.in6(arena, source, ifindex), "sender to its link-local address on " + ifname);
                Libc.setsockoptInt(s, Libc.IPPROTO_IPV6, Libc.IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF");
                Libc.setsockoptInt(s, Libc.IPPROTO_IPV6, Libc.IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS");
                Libc.setsockoptInt(s, Libc.IPPROTO_IPV6, Libc.IPV6_UNICAST_HOPS, 255, "IPV6_UNICAST_HOPS");
                Libc.setsockoptInt(s, Libc.IPPROTO_IPV6, Libc.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP");
                MemorySegment mreq = arena.allocate(20, 4); // struct ipv6_mreq
                MemorySegment.copy(GROUP_V6, 0, mreq, 0, 16);
                mreq.set(ValueLayout.JAVA_INT, 16, ifindex);
                Libc.setsockopt(r, Libc.IPPROTO_IPV6, Libc.IPV6_ADD_MEMBERSHIP, mreq, "IPV6_ADD_MEMBERSHIP ff02::12 on " + ifname);
                Libc.setsockoptInt(r, Libc.IPPROTO_IPV6, Libc.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP");
                Libc.setsockoptInt(r, Libc.IPPROTO_IPV6, Libc.IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
                Libc.setsockoptInt(r, Libc.IPPROTO_IPV6, Libc.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
                group = SockAddr.in6(arena, GROUP_V6, ifindex);
            } else {
                Libc.bind(s, SockAddr.in4(arena, source), "sender to its address on " + ifname);
                MemorySegment mreqn = arena.allocate(12, 4); // struct ip_mreqn
                mreqn.set(INT_BE, 0, 0xe0000012); // 224.0.0.18
                mreqn.set(ValueLayout.JAVA_INT, 8, ifindex);
                Libc.setsockopt(s, Libc.IPPROTO_IP, Libc.IP_MULTICAST_IF, mreqn, "IP_MULTICAST_IF " + ifname);
                Libc.setsockoptInt(s, Libc.IPPROTO_IP, Libc.IP_MULTICAST_TTL, 255, "IP_MULTICAST_TTL");
                Libc.setsockoptInt(s, Libc.IPPROTO_IP, Libc.IP_TTL, 255, "IP_TTL");
                Libc.setsockoptInt(s, Libc.IPPROTO_IP, Libc.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP");
                Libc.setsockopt(r, Libc.IPPROTO_IP, Libc.IP_ADD_MEMBERSHIP, mreqn, "IP_ADD_MEMBERSHIP 224.0.0.18 on " + ifname);
                Libc.setsockoptInt(r, Libc.IPPROTO_IP, Libc.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP");
                group = SockAddr.in4(arena, new byte[]{(byte) 224, 0, 0, 18});
            }
        } catch (RuntimeException e) {
            Libc.close(s);
            Libc.close(r);
            arena.close();
            throw e;
        }
        sendFd = s;
        recvFd = r;
        sendBuf = arena.allocate(BUF, 8);
        rx = new DatagramReceive(arena, BUF, 256);
    }

    /**
     * An IPv6 address still in duplicate address detection (link-local just after link up) cannot be
     * bound yet: retry for up to 5 s before giving up. IPv4 has no tentative state.
     */
    private static void bindRetryingTentative(int fd, MemorySegment addr, String what) {
        for (int attempt = 0; ; attempt++) {
            try {
                Libc.bind(fd, addr, what);
                return;
            } catch (NativeException e) {
                if (e.errno() != Errno.EADDRNOTAVAIL || attempt >= 50) {
                    throw e;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static final MemorySegment GROUP_V6 = MemorySegment.ofArray(new byte[]{
            (byte) 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12});

    /**
     * @param source the node's own address on the interface (IPv4 primary / IPv6 link-local):
     *               adverts leave from it
     */
    public static VrrpSocket open(String ifname, boolean ipv6, byte[] source) {
        return open(ifname, ipv6, source, WAIT_MS);
    }

    static VrrpSocket open(String ifname, boolean ipv6, byte[] source, int waitMs) {
        if (source.length != (ipv6 ? 16 : 4)) {
            throw new IllegalArgumentException("source address of the wrong family for " + (ipv6 ? "IPv6" : "IPv4"));
        }
        return new VrrpSocket(ifname, ipv6, source, waitMs);
    }

    public String ifname() {
        return ifname;
    }

    /**
     * Sends one VRRP message (no IP header) to the VRRP group on this interface.
     *
     * @throws IllegalStateException once {@link #close()} was called
     */
    public void send(byte[] message) {
        if (message.length > MAX_MESSAGE) {
            throw new IllegalArgumentException("VRRP message of " + message.length + " bytes is too long");
        }
        sending.lock();
        try {
            if (closed.get()) {
                throw new IllegalStateException("VRRP socket on " + ifname + " is closed");
            }
            MemorySegment.copy(message, 0, sendBuf, ValueLayout.JAVA_BYTE, 0, message.length);
            Libc.sendto(sendFd, sendBuf, message.length, group, "VRRP advert on " + ifname);
        } finally {
            sending.unlock();
        }
    }

    /**
     * Blocks until an advert arrives; returns null only once {@link #close()} was called, however
     * many deliveries were skipped before. Malformed deliveries (truncated IP header) and packets
     * longer than the buffer are skipped. Read from one platform thread only.
     */
    public Received receive() {
        receiving.lock();
        try {
            while (true) {
                long n = rx.receive(recvFd, waitMs, closed, "VRRP on " + ifname);
                if (n < 0) {
                    return null; // closed
                }
                if (rx.truncated()) {
                    truncated++; // only this thread writes it
                    continue;
                }
                Received r = ipv6 ? parse6((int) n, rx.arrivedAt()) : parse4((int) n, rx.arrivedAt());
                if (r != null) {
                    return r;
                }
            }
        } finally {
            receiving.unlock();
        }
    }

    /** Packets skipped because they were longer than the receive buffer (no VRRP message is). */
    public long truncatedPackets() {
        return truncated;
    }

    private Received parse4(int n, long arrivedAt) {
        MemorySegment recvBuf = rx.data();
        if (n < 20) {
            return null;
        }
        int ihl = (recvBuf.get(ValueLayout.JAVA_BYTE, 0) & 0x0f) * 4;
        if (ihl < 20 || n < ihl) {
            return null;
        }
        int ttl = recvBuf.get(ValueLayout.JAVA_BYTE, 8) & 0xff;
        byte[] src = recvBuf.asSlice(12, 4).toArray(ValueLayout.JAVA_BYTE);
        byte[] dst = recvBuf.asSlice(16, 4).toArray(ValueLayout.JAVA_BYTE);
        byte[] payload = recvBuf.asSlice(ihl, n - ihl).toArray(ValueLayout.JAVA_BYTE);
        return new Received(src, dst, ttl, payload, arrivedAt);
    }

    private Received parse6(int n, long arrivedAt) {
        MemorySegment control = rx.control();
        byte[] src = rx.name().asSlice(8, 16).toArray(ValueLayout.JAVA_BYTE); // sockaddr_in6.sin6_addr
        byte[] dst = null;
        int hops = -1;
        long clen = rx.controlLength();
        long off = 0;
        for (int guard = 0; guard < 16 && off + 16 <= clen; guard++) { // struct cmsghdr: len(8) level(4) type(4)
            long len = control.get(ValueLayout.JAVA_LONG, off);
            int level = control.get(ValueLayout.JAVA_INT, off + 8);
            int type = control.get(ValueLayout.JAVA_INT, off + 12);
            if (len < 16 || off + len > clen) {
                break;
            }
            if (level == Libc.IPPROTO_IPV6 && type == Libc.IPV6_HOPLIMIT && len >= 20) {
                hops = control.get(ValueLayout.JAVA_INT, off + 16);
            } else if (level == Libc.IPPROTO_IPV6 && type == Libc.IPV6_PKTINFO && len >= 32) {
                dst = control.asSlice(off + 16, 16).toArray(ValueLayout.JAVA_BYTE);
            }
            off += (len + 7) & ~7L;
        }
        if (dst == null || hops < 0) {
            return null;
        }
        return new Received(src, dst, hops, rx.data().asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), arrivedAt);
    }

    /**
     * Wakes a blocked receive() (it returns null), waits for a send under way, and releases the
     * sockets; later sends throw IllegalStateException, later receives return null. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        rx.wake();
        // once both are held nobody is inside a call on the descriptors, and nobody gets in again:
        // a closed descriptor number can be reused at once by another open
        sending.lock();
        receiving.lock();
        try {
            Libc.close(sendFd);
            Libc.close(recvFd);
            rx.close();
        } finally {
            receiving.unlock();
            sending.unlock();
        }
        arena.close();
    }
}
