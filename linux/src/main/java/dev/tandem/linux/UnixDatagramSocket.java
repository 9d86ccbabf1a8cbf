package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * An AF_UNIX datagram socket: what /dev/log speaks (the JDK has UNIX stream sockets only). Used to
 * write events to the system log. Thread-safe: every call is synchronized (they are short).
 */
public final class UnixDatagramSocket implements AutoCloseable {
    private static final int AF_UNIX = 1;
    private static final int MAX_PATH = 107;
    public static final int MAX_DATAGRAM = 8192;

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(MAX_DATAGRAM);
    private boolean closed;

    private UnixDatagramSocket(int fd) {
        this.fd = fd;
    }

    /** An unbound socket for sending. */
    public static UnixDatagramSocket open() {
        return new UnixDatagramSocket(Libc.socket(AF_UNIX, Libc.SOCK_DGRAM, 0));
    }

    /** A socket bound to path (for receiving; tests play the syslog daemon with it). */
    public static UnixDatagramSocket bind(String path) {
        UnixDatagramSocket s = open();
        try (Arena a = Arena.ofConfined()) {
            Libc.bind(s.fd, address(a, path), "unix datagram socket " + path);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    static MemorySegment address(Arena a, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length == 0 || p.length > MAX_PATH) {
            throw new IllegalArgumentException("unix socket path must be 1.." + MAX_PATH + " bytes: " + path);
        }
        MemorySegment s = a.allocate(110, 2);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(p, 0, s, ValueLayout.JAVA_BYTE, 2, p.length);
        return s;
    }

    /** Sends one datagram (cut to MAX_DATAGRAM bytes); throws NativeException (e.g. ECONNREFUSED, ENOENT). */
    public synchronized void send(String path, byte[] data) {
        if (closed) {
            throw new IllegalStateException("unix datagram socket closed");
        }
        int n = Math.min(data.length, MAX_DATAGRAM);
        MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, n);
        try (Arena a = Arena.ofConfined()) {
            Libc.sendto(fd, buf, n, address(a, path), "unix datagram to " + path);
        }
    }

    /** Receives one datagram, waiting up to timeoutMs; null when none came. */
    public synchronized byte[] receive(int timeoutMs) {
        if (closed) {
            throw new IllegalStateException("unix datagram socket closed");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8, 4);
            pfd.set(ValueLayout.JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, Libc.POLLIN);
            int r = Libc.poll(pfd, 1, timeoutMs);
            if (r <= 0) {
                return null;
            }
            long n = Libc.recv(fd, buf, MAX_DATAGRAM, Libc.MSG_DONTWAIT);
            return n < 0 ? null : buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
            arena.close();
        }
    }
}
