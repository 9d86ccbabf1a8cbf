package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One socket's recvmsg: the native buffers (data, source address, control messages, iovec, msghdr)
 * and a wait that {@link #wake()} interrupts. Shared by the raw VRRP and the UDP heartbeat readers.
 * One reading thread; the owner serialises receive() against closing the descriptor.
 */
final class DatagramReceive {
    private final MemorySegment data;
    private final MemorySegment name;
    private final MemorySegment control;
    private final MemorySegment iov;
    private final MemorySegment msghdr;
    private final WakeablePoll poll;

    DatagramReceive(Arena arena, int dataBytes, int controlBytes) {
        data = arena.allocate(dataBytes, 8);
        name = arena.allocate(28, 8); // sockaddr_in6, the largest source address here
        control = arena.allocate(controlBytes, 8);
        iov = arena.allocate(16, 8);
        msghdr = arena.allocate(56, 8);
        poll = new WakeablePoll(arena);
    }

    /**
     * Waits (at most waitMs at a time, re-checking closed) for a datagram on fd and receives it:
     * its byte count, or -1 once closed is set or wake() was called. Throws NativeException for an
     * error other than EAGAIN / EINTR.
     */
    long receive(int fd, int waitMs, AtomicBoolean closed, String what) {
        while (true) {
            if (closed.get()) {
                return -1;
            }
            int ready = poll.await(fd, waitMs);
            if (ready == WakeablePoll.WOKEN) {
                return -1;
            }
            if (ready == WakeablePoll.TIMED_OUT) {
                continue;
            }
            iov.set(ValueLayout.ADDRESS, 0, data);
            iov.set(ValueLayout.JAVA_LONG, 8, data.byteSize());
            msghdr.fill((byte) 0);
            msghdr.set(ValueLayout.ADDRESS, 0, name);
            msghdr.set(ValueLayout.JAVA_INT, 8, (int) name.byteSize());
            msghdr.set(ValueLayout.ADDRESS, 16, iov);
            msghdr.set(ValueLayout.JAVA_LONG, 24, 1);
            msghdr.set(ValueLayout.ADDRESS, 32, control);
            msghdr.set(ValueLayout.JAVA_LONG, 40, control.byteSize());
            long n = Libc.recvmsg(fd, msghdr, Libc.MSG_DONTWAIT);
            if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new NativeException("recvmsg(" + what + ")", (int) -n);
            }
            return n;
        }
    }

    MemorySegment data() {
        return data;
    }

    /** The source address of the last datagram (struct sockaddr_in or sockaddr_in6). */
    MemorySegment name() {
        return name;
    }

    MemorySegment control() {
        return control;
    }

    /** How many bytes of control messages the last datagram came with. */
    long controlLength() {
        return msghdr.get(ValueLayout.JAVA_LONG, 40);
    }

    /** The last datagram was longer than the data buffer (MSG_TRUNC). */
    boolean truncated() {
        return (msghdr.get(ValueLayout.JAVA_INT, 48) & Libc.MSG_TRUNC) != 0; // msg_flags
    }

    /** When the kernel received the last datagram (System.nanoTime() clock; see ReceiveTime). */
    long arrivedAt() {
        return ReceiveTime.of(control, controlLength());
    }

    /** Wakes a receive() under way (it returns -1). */
    void wake() {
        poll.wake();
    }

    void close() {
        poll.close();
    }
}
