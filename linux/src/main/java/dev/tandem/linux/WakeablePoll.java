package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Waits until a socket is readable or {@link #wake()} is called from another thread. Needed because
 * neither Thread.interrupt() nor close(fd) wakes a thread blocked in a native recv.
 */
final class WakeablePoll implements AutoCloseable {
    static final int READABLE = 1;
    static final int TIMED_OUT = 0;
    static final int WOKEN = -1;

    private final int eventFd;
    private final MemorySegment fds; // struct pollfd[2] { int fd; short events; short revents; }
    private volatile boolean woken;

    WakeablePoll(Arena arena) {
        eventFd = Libc.eventfd();
        fds = arena.allocate(16, 8);
    }

    /** True when fd is readable; false once wake() was called. Retries EINTR; bounded by the caller's loop. */
    boolean awaitReadable(int fd) {
        return await(fd, -1) == READABLE;
    }

    /** READABLE, WOKEN (wake() was called) or TIMED_OUT after timeoutMs (-1: never). */
    int await(int fd, int timeoutMs) {
        if (woken) {
            return WOKEN;
        }
        fds.set(ValueLayout.JAVA_INT, 0, fd);
        fds.set(ValueLayout.JAVA_SHORT, 4, Libc.POLLIN);
        fds.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        fds.set(ValueLayout.JAVA_INT, 8, eventFd);
        fds.set(ValueLayout.JAVA_SHORT, 12, Libc.POLLIN);
        fds.set(ValueLayout.JAVA_SHORT, 14, (short) 0);
        while (true) {
            int r = Libc.poll(fds, 2, timeoutMs);
            if (r == -Errno.EINTR) {
                continue;
            }
            if (r < 0) {
                throw new NativeException("poll", -r);
            }
            if (woken || fds.get(ValueLayout.JAVA_SHORT, 14) != 0) {
                return WOKEN;
            }
            if (fds.get(ValueLayout.JAVA_SHORT, 6) != 0) {
                return READABLE;
            }
            if (r == 0) {
                return TIMED_OUT;
            }
        }
    }

    void wake() {
        woken = true;
        Libc.signal(eventFd);
    }

    @Override
    public void close() {
        Libc.close(eventFd);
    }
}
