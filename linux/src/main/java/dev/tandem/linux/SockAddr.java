package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Socket address structs, laid out by hand (x86_64 Linux). */
final class SockAddr {
    private SockAddr() {}

    /** struct sockaddr_in (16 bytes): family, port (BE), in_addr (BE). */
    static MemorySegment in4(Arena arena, byte[] addr) {
        MemorySegment s = arena.allocate(16, 4);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET);
        MemorySegment.copy(addr, 0, s, ValueLayout.JAVA_BYTE, 4, 4);
        return s;
    }

    /** struct sockaddr_in6 (28 bytes): family, port, flowinfo, in6_addr, scope id. */
    static MemorySegment in6(Arena arena, byte[] addr, int scopeId) {
        MemorySegment s = arena.allocate(28, 4);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET6);
        MemorySegment.copy(addr, 0, s, ValueLayout.JAVA_BYTE, 8, 16);
        s.set(ValueLayout.JAVA_INT, 24, scopeId);
        return s;
    }

    static MemorySegment in6(Arena arena, MemorySegment addr, int scopeId) {
        return in6(arena, addr.toArray(ValueLayout.JAVA_BYTE), scopeId);
    }

    /** struct sockaddr_nl (12 bytes): family, pad, pid, groups. */
    static MemorySegment netlink(Arena arena, int groups) {
        MemorySegment s = arena.allocate(12, 4);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_NETLINK);
        s.set(ValueLayout.JAVA_INT, 8, groups);
        return s;
    }

    /** struct sockaddr_ll (20 bytes) for sending a complete Ethernet frame on ifindex. */
    static MemorySegment packet(Arena arena, int ifindex, int ethertype, byte[] dstMac) {
        MemorySegment s = arena.allocate(20, 4);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_PACKET);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) ethertype);
        s.set(ValueLayout.JAVA_INT, 4, ifindex);
        s.set(ValueLayout.JAVA_BYTE, 11, (byte) 6);
        MemorySegment.copy(dstMac, 0, s, ValueLayout.JAVA_BYTE, 12, 6);
        return s;
    }
}
