package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A NETLINK_ROUTE socket with native buffers allocated once; optionally subscribed to groups. */
final class NetlinkSocket implements AutoCloseable {
    private static final int NETLINK_ROUTE = 0;
    private static final int BUF = 1 << 16;

    final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(BUF, 8);
    private final MemorySegment kernel = SockAddr.netlink(arena, 0);
    private final byte[] heap = new byte[BUF];

    NetlinkSocket(int groups, int rcvbuf) {
        fd = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW, NETLINK_ROUTE);
        try {
            Libc.setsockoptInt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, rcvbuf, "SO_RCVBUFFORCE");
            Libc.bind(fd, SockAddr.netlink(arena, groups), "netlink route groups " + groups);
        } catch (RuntimeException e) {
            Libc.close(fd);
            arena.close();
            throw e;
        }
    }

    void send(byte[] msg) {
        MemorySegment.copy(msg, 0, buf, ValueLayout.JAVA_BYTE, 0, msg.length);
        Libc.sendto(fd, buf, msg.length, kernel, "netlink request");
    }

    /** Blocking receive of one datagram into the returned heap array; returns its length or -errno. */
    int receive(int flags) {
        long n = Libc.recv(fd, buf, BUF, flags);
        if (n < 0) {
            return (int) n;
        }
        MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, heap, 0, (int) n);
        return (int) n;
    }

    byte[] data() {
        return heap;
    }

    @Override
    public void close() {
        Libc.close(fd);
        arena.close();
    }
}
