package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A netlink socket (NETLINK_ROUTE unless told) with native buffers allocated once; optionally subscribed to groups. */
final class NetlinkSocket implements AutoCloseable {
    private static final int NETLINK_ROUTE = 0;
    static final int NETLINK_NETFILTER = 12;
    private static final int BUF = 1 << 16;
    private static final int MAX_DUMP_DATAGRAMS = 100_000;

    final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(BUF, 8);
    private final MemorySegment kernel = SockAddr.netlink(arena, 0);
    private final byte[] heap = new byte[BUF];

    NetlinkSocket(int groups, int rcvbuf) {
        this(NETLINK_ROUTE, groups, rcvbuf);
    }

    NetlinkSocket(int protocol, int groups, int rcvbuf) {
        fd = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW, protocol);
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

    /** A dump request and every message of its answer (bounded), or an exception naming the error. */
    java.util.List<NetlinkMessages.Message> dump(int type, byte[] fixed, int seq) {
        send(NetlinkMessages.request(type, NetlinkMessages.NLM_F_REQUEST | NetlinkMessages.NLM_F_DUMP, seq, fixed,
                java.util.List.of()));
        java.util.List<NetlinkMessages.Message> out = new java.util.ArrayList<>();
        for (int i = 0; i < MAX_DUMP_DATAGRAMS; i++) {
            int n = receive(0);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new NativeException("recv(netlink dump)", -n);
            }
            try {
                for (NetlinkMessages.Message m : NetlinkMessages.split(heap, n)) {
                    if (m.seq() != seq) {
                        continue;
                    }
                    if (m.type() == NetlinkMessages.NLMSG_DONE) {
                        return out;
                    }
                    if (m.type() == NetlinkMessages.NLMSG_ERROR) {
                        throw new NativeException("netlink dump " + type, -NetlinkMessages.error(m));
                    }
                    out.add(m);
                }
            } catch (NetlinkMessages.MalformedMessageException e) {
                throw new IllegalStateException("malformed netlink dump: " + e.getMessage());
            }
        }
        throw new IllegalStateException("netlink dump did not end after " + MAX_DUMP_DATAGRAMS + " datagrams");
    }

    @Override
    public void close() {
        Libc.close(fd);
        arena.close();
    }
}
