package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

/**
 * ICMP echo (ping) through a raw socket: the path monitor's probe. One socket per prober thread;
 * not thread-safe. Raw sockets (CAP_NET_RAW) rather than unprivileged ping sockets, because a new
 * network namespace starts with ping sockets disabled (net.ipv4.ping_group_range "1 0").
 *
 * <p>Every raw ICMP socket sees every echo reply of the host: replies are matched by identifier,
 * sequence number and source address, anything else is skipped.
 */
public final class IcmpEcho implements AutoCloseable {
    private static final int IPPROTO_ICMP = 1;
    private static final int IPPROTO_ICMPV6 = 58;
    private static final int PAYLOAD = 16;
    private static final int MAX_SKIPPED = 10_000;
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final boolean ipv6;
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment out;
    private final MemorySegment in;
    private final MemorySegment pollfd;
    private final int id = ThreadLocalRandom.current().nextInt(1, 0xffff);
    private int seq;
    private boolean closed;

    private IcmpEcho(boolean ipv6, int fd) {
        this.ipv6 = ipv6;
        this.fd = fd;
        this.out = arena.allocate(8 + PAYLOAD, 8);
        this.in = arena.allocate(2048, 8);
        this.pollfd = arena.allocate(8, 4);
    }

    /** Opens a socket; source (4 or 16 bytes, or null for the kernel's choice) is bound as the probes' source. */
    public static IcmpEcho open(boolean ipv6, byte[] source) {
        int fd = Libc.socket(ipv6 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_RAW, ipv6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
        IcmpEcho e = new IcmpEcho(ipv6, fd);
        try {
            if (source != null) {
                if (source.length != (ipv6 ? 16 : 4)) {
                    throw new IllegalArgumentException("source address of the wrong family");
                }
                Libc.bind(fd, ipv6 ? SockAddr.in6(e.arena, source, 0) : SockAddr.in4(e.arena, source),
                        "ICMP probe source");
            }
        } catch (RuntimeException ex) {
            e.close();
            throw ex;
        }
        return e;
    }

    /**
     * Sends one echo request to destination and waits up to timeoutMs for its reply. Returns the
     * round-trip time in nanoseconds, or -1 when no reply came in time. A send the kernel refuses
     * (no route, unreachable) throws a {@link NativeException} naming the reason.
     */
    public long ping(byte[] destination, int timeoutMs) {
        if (closed) {
            throw new IllegalStateException("ICMP socket closed");
        }
        if (destination.length != (ipv6 ? 16 : 4)) {
            throw new IllegalArgumentException("destination of the wrong family");
        }
        seq = (seq + 1) & 0xffff;
        long sentAt = System.nanoTime();
        sendRequest(destination, sentAt);
        long deadline = sentAt + timeoutMs * 1_000_000L;
        for (int skipped = 0; skipped < MAX_SKIPPED; skipped++) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return -1;
            }
            pollfd.set(ValueLayout.JAVA_INT, 0, fd);
            pollfd.set(ValueLayout.JAVA_SHORT, 4, Libc.POLLIN);
            pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            int r = Libc.poll(pollfd, 1, (int) Math.max(1, (left + 999_999) / 1_000_000));
            if (r == -Errno.EINTR || r == 0) {
                continue;
            }
            if (r < 0) {
                throw new NativeException("poll(ICMP)", -r);
            }
            long n = Libc.recv(fd, in, in.byteSize(), Libc.MSG_DONTWAIT);
            if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new NativeException("recv(ICMP)", (int) -n);
            }
            if (matches((int) n, destination)) {
                return System.nanoTime() - sentAt;
            }
        }
        return -1;
    }

    /**
     * Sends one echo request carrying {@code payload} (8 bytes, big-endian) without waiting for its
     * reply: a stream of probes read back elsewhere (the lab captures them). The sequence number is
     * the payload's low 16 bits.
     */
    public void send(byte[] destination, long payload) {
        if (closed) {
            throw new IllegalStateException("ICMP socket closed");
        }
        if (destination.length != (ipv6 ? 16 : 4)) {
            throw new IllegalArgumentException("destination of the wrong family");
        }
        seq = (int) (payload & 0xffff);
        sendRequest(destination, payload);
    }

    private void sendRequest(byte[] destination, long payload) {
        out.fill((byte) 0);
        out.set(ValueLayout.JAVA_BYTE, 0, (byte) (ipv6 ? 128 : 8)); // echo request
        out.set(BE_SHORT, 4, (short) id);
        out.set(BE_SHORT, 6, (short) seq);
        out.set(BE_LONG, 8, payload);
        if (!ipv6) { // the kernel fills in the ICMPv6 checksum itself (RFC 3542), not the ICMPv4 one
            out.set(BE_SHORT, 2, (short) checksum(out.toArray(ValueLayout.JAVA_BYTE)));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment to = ipv6 ? SockAddr.in6(a, destination, 0) : SockAddr.in4(a, destination);
            Libc.sendto(fd, out, out.byteSize(), to, "ICMP echo to " + text(destination));
        }
    }

    private boolean matches(int n, byte[] destination) {
        int off = 0;
        if (!ipv6) { // raw IPv4 sockets deliver the IP header too
            if (n < 20) {
                return false;
            }
            int ihl = (in.get(ValueLayout.JAVA_BYTE, 0) & 0x0f) * 4;
            byte[] src = in.asSlice(12, 4).toArray(ValueLayout.JAVA_BYTE);
            if (ihl < 20 || !Arrays.equals(src, destination)) {
                return false;
            }
            off = ihl;
        }
        if (n < off + 8) {
            return false;
        }
        int type = in.get(ValueLayout.JAVA_BYTE, off) & 0xff;
        int rid = in.get(BE_SHORT, off + 4) & 0xffff;
        int rseq = in.get(BE_SHORT, off + 6) & 0xffff;
        return type == (ipv6 ? 129 : 0) && rid == id && rseq == seq;
        // IPv6: the source is not in the payload; identifier + sequence suffice for one socket's probes
    }

    static int checksum(byte[] b) {
        long sum = 0;
        for (int i = 0; i + 1 < b.length; i += 2) {
            sum += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if ((b.length & 1) == 1) {
            sum += (b[b.length - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static String text(byte[] a) {
        try {
            return java.net.InetAddress.getByAddress(a).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            return Arrays.toString(a);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
            arena.close();
        }
    }
}
