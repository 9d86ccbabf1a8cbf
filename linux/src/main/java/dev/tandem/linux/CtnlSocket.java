package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A NETLINK_NETFILTER socket with its native buffers (allocated once): one to receive into (copied to a
 * heap array for the plain-Java decoder) and one to build outgoing batches in place. Not thread-safe;
 * its owners serialise use and closing.
 */
final class CtnlSocket {
    static final int NETLINK_NETFILTER = 12;
    /** Larger than any datagram the kernel sends (dump skbs are at most 32 KiB); MSG_TRUNC catches the rest. */
    static final int RECV_BYTES = 128 << 10;

    final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment recvBuf = arena.allocate(RECV_BYTES, 8);
    private final MemorySegment kernel = SockAddr.netlink(arena, 0);
    private final byte[] heap = new byte[RECV_BYTES];
    private final MemorySegment sendBuf;

    /**
     * @param groups multicast group bits to join (0: none)
     * @param rcvbuf SO_RCVBUFFORCE bytes (the kernel doubles it for bookkeeping)
     * @param sendBytes size of the native send buffer (also what SO_SNDBUFFORCE is set from); 0: none
     * @param timeoutMs SO_RCVTIMEO (0: block)
     */
    CtnlSocket(int groups, int rcvbuf, int sendBytes, int timeoutMs) {
        int s = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW, NETLINK_NETFILTER);
        try {
            Libc.setsockoptInt(s, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, rcvbuf, "SO_RCVBUFFORCE " + rcvbuf);
            if (sendBytes > 0) {
                // netlink refuses a datagram larger than sk_sndbuf - 32
                Libc.setsockoptInt(s, Libc.SOL_SOCKET, Libc.SO_SNDBUFFORCE, sendBytes * 2, "SO_SNDBUFFORCE");
                // errors echo only the header of the failed request, not the whole request
                Libc.setsockoptInt(s, Libc.SOL_NETLINK, Libc.NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK");
            }
            if (timeoutMs > 0) {
                MemorySegment tv = arena.allocate(16, 8); // struct timeval { long tv_sec; long tv_usec; }
                tv.set(ValueLayout.JAVA_LONG, 0, timeoutMs / 1000);
                tv.set(ValueLayout.JAVA_LONG, 8, (timeoutMs % 1000) * 1000L);
                Libc.setsockopt(s, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, tv, "SO_RCVTIMEO");
            }
            Libc.bind(s, SockAddr.netlink(arena, groups), "netlink netfilter groups " + groups);
        } catch (RuntimeException e) {
            Libc.close(s);
            arena.close();
            throw e;
        }
        fd = s;
        sendBuf = sendBytes > 0 ? arena.allocate(sendBytes, 8) : MemorySegment.NULL;
    }

    /** The native send buffer (to encode into in place). */
    MemorySegment sendBuffer() {
        return sendBuf;
    }

    /** Sends sendBuffer()[0..length) to the kernel as one datagram. */
    void sendBatch(int length, String what) {
        Libc.sendto(fd, sendBuf, length, kernel, what);
    }

    /** Sends a small request, copied into the receive buffer (a request and its replies never overlap). */
    void send(byte[] msg, String what) {
        MemorySegment.copy(msg, 0, recvBuf, ValueLayout.JAVA_BYTE, 0, msg.length);
        Libc.sendto(fd, recvBuf, msg.length, kernel, what);
    }

    /**
     * Receives one datagram into {@link #data()}; returns its length or -errno. A datagram larger than
     * the buffer (never sent by the kernel) is reported as -EMSGSIZE rather than silently truncated.
     */
    int receive(int flags) {
        long n = Libc.recv(fd, recvBuf, RECV_BYTES, flags | Libc.MSG_TRUNC);
        if (n < 0) {
            return (int) n;
        }
        if (n > RECV_BYTES) {
            return -90; // EMSGSIZE
        }
        MemorySegment.copy(recvBuf, ValueLayout.JAVA_BYTE, 0, heap, 0, (int) n);
        return (int) n;
    }

    byte[] data() {
        return heap;
    }

    void close() {
        Libc.close(fd);
        arena.close();
    }
}
