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

    /** Sends buf[0..length) to the kernel as one datagram (at most the send buffer's size). */
    void sendBatch(MemorySegment buf, int length, String what) {
        if (length > sendBuf.byteSize()) {
            throw new IllegalArgumentException(what + ": " + length + " bytes, the socket takes " + sendBuf.byteSize());
        }
        Libc.sendto(fd, buf, length, kernel, what);
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

    // ---- many datagrams per system call (event subscriptions: one datagram per event)

    /** Datagrams one {@link #receiveMany} can return. */
    static final int MANY = 64;
    /** Room for one datagram of {@link #receiveMany} (an event is well under 1 KiB); larger ones are reported truncated. */
    static final int MANY_BYTES = 8 << 10;
    private static final int MMSGHDR = 64; // struct mmsghdr on x86_64/aarch64: msghdr (56) + msg_len (4) + padding
    private static final int MSG_TRUNC_FLAG = 0x20;
    private MemorySegment manyVec;
    private MemorySegment manyBufs;
    private byte[] manyHeap;
    private final int[] manyLength = new int[MANY];

    /**
     * Receives up to {@link #MANY} datagrams with one recvmmsg; returns how many, or -errno (none:
     * -EAGAIN with MSG_DONTWAIT). Datagram i is at {@link #manyData()}[i * MANY_BYTES ...] with the length
     * {@link #manyLength(int)}; a datagram longer than MANY_BYTES has a length of -1 (truncated: skip it).
     */
    int receiveMany(int flags) {
        if (manyVec == null) {
            manyVec = arena.allocate((long) MANY * MMSGHDR, 8);
            manyBufs = arena.allocate((long) MANY * MANY_BYTES, 8);
            MemorySegment iov = arena.allocate(MANY * 16L, 8);
            for (int i = 0; i < MANY; i++) {
                iov.set(ValueLayout.ADDRESS, i * 16L, manyBufs.asSlice((long) i * MANY_BYTES, MANY_BYTES));
                iov.set(ValueLayout.JAVA_LONG, i * 16L + 8, MANY_BYTES);
            }
            for (int i = 0; i < MANY; i++) {
                long h = (long) i * MMSGHDR; // msg_name NULL, namelen 0, control NULL, controllen 0
                manyVec.set(ValueLayout.ADDRESS, h + 16, iov.asSlice(i * 16L, 16)); // msg_iov
                manyVec.set(ValueLayout.JAVA_LONG, h + 24, 1); // msg_iovlen
            }
            manyHeap = new byte[MANY * MANY_BYTES];
        }
        // MSG_TRUNC: netlink reports each datagram's real length, so a too long one is seen, not cut silently
        int n = Libc.recvmmsg(fd, manyVec, MANY, flags | Libc.MSG_TRUNC);
        for (int i = 0; i < n; i++) {
            long h = (long) i * MMSGHDR;
            int len = manyVec.get(ValueLayout.JAVA_INT, h + 56);
            int msgFlags = manyVec.get(ValueLayout.JAVA_INT, h + 48);
            if (len > MANY_BYTES || len < 0 || (msgFlags & MSG_TRUNC_FLAG) != 0) {
                manyLength[i] = -1;
                continue;
            }
            manyLength[i] = len;
            MemorySegment.copy(manyBufs, ValueLayout.JAVA_BYTE, (long) i * MANY_BYTES, manyHeap, i * MANY_BYTES, len);
        }
        return n;
    }

    byte[] manyData() {
        return manyHeap;
    }

    int manyLength(int i) {
        return manyLength[i];
    }

    void close() {
        Libc.close(fd);
        arena.close();
    }
}
