package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A UDP socket bound to one local address and port that reports, with each datagram, its source
 * address and when the kernel received it ({@link ReceiveTime}). The JDK's DatagramChannel cannot
 * give the kernel's timestamp: the heartbeat readers need it so that their own late wake-ups do not
 * count as the peer's silence. Read from one thread; {@link #close()} from any.
 */
public final class UdpReceiver implements AutoCloseable {
    /** Longest single wait in receive(): the closed flag is checked again at least this often. */
    private static final int WAIT_MS = 1000;
    private static final ValueLayout.OfShort PORT_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** A datagram: {@code length} bytes were copied into the caller's buffer (longer ones are cut and flagged). */
    public record Datagram(byte[] source, int length, boolean truncated, long arrivedAt) {}

    private final boolean ipv6;
    private final int fd;
    private final int maxDatagram;
    private final Arena arena = Arena.ofShared();
    private final DatagramReceive rx;
    private final ReentrantLock receiving = new ReentrantLock();
    private final AtomicBoolean closed = new AtomicBoolean();

    private UdpReceiver(byte[] address, int port, int maxDatagram) {
        this.ipv6 = address.length == 16;
        this.maxDatagram = maxDatagram;
        int s = -1;
        try {
            s = Libc.socket(ipv6 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_DGRAM, 0);
            ReceiveTime.enable(s, "UDP " + port);
            MemorySegment a = ipv6 ? SockAddr.in6(arena, address, 0) : SockAddr.in4(arena, address);
            a.set(PORT_BE, 2, (short) port);
            Libc.bind(s, a, "UDP socket to port " + port);
        } catch (RuntimeException e) {
            Libc.close(s);
            arena.close();
            throw e;
        }
        fd = s;
        rx = new DatagramReceive(arena, maxDatagram, 64);
    }

    /** Binds to address (4 or 16 bytes) and port; datagrams longer than maxDatagram are cut and flagged. */
    public static UdpReceiver bind(byte[] address, int port, int maxDatagram) {
        if (address.length != 4 && address.length != 16) {
            throw new IllegalArgumentException("an address has 4 or 16 bytes, not " + address.length);
        }
        if (port < 1 || port > 65535 || maxDatagram < 1 || maxDatagram > 65536) {
            throw new IllegalArgumentException("port 1..65535 and a buffer of 1..65536 bytes, got " + port + ", " + maxDatagram);
        }
        return new UdpReceiver(address, port, maxDatagram);
    }

    /**
     * Blocks until a datagram arrives and copies it into {@code into} (at least maxDatagram bytes);
     * returns null once {@link #close()} was called.
     */
    public Datagram receive(byte[] into) {
        if (into.length < maxDatagram) {
            throw new IllegalArgumentException("buffer of " + into.length + " bytes, need " + maxDatagram);
        }
        receiving.lock();
        try {
            long n = rx.receive(fd, WAIT_MS, closed, "UDP");
            if (n < 0) {
                return null; // closed
            }
            int len = (int) Math.min(n, maxDatagram);
            MemorySegment.copy(rx.data(), ValueLayout.JAVA_BYTE, 0, into, 0, len);
            // sockaddr_in: address at 4; sockaddr_in6: at 8
            byte[] source = ipv6 ? rx.name().asSlice(8, 16).toArray(ValueLayout.JAVA_BYTE)
                    : rx.name().asSlice(4, 4).toArray(ValueLayout.JAVA_BYTE);
            return new Datagram(source, len, rx.truncated(), rx.arrivedAt());
        } finally {
            receiving.unlock();
        }
    }

    /** Wakes a blocked receive() (it returns null) and releases the socket. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        rx.wake();
        receiving.lock();
        try {
            Libc.close(fd);
            rx.close();
        } finally {
            receiving.unlock();
        }
        arena.close();
    }
}
