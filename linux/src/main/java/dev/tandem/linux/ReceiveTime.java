package dev.tandem.linux;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * When the kernel received a datagram (SO_TIMESTAMPNS), on the clock of {@link System#nanoTime()}.
 *
 * <p>Why: a reader thread that is woken late (scheduling, a safepoint) would otherwise stamp an
 * advert or heartbeat with the time it got round to it, and the HA core would measure silence and
 * lateness that were this node's own. The kernel stamps on CLOCK_REALTIME; the age of the stamp
 * (now minus stamp, both on CLOCK_REALTIME) is taken off the monotonic clock. An age outside
 * [0, 1 s] means the wall clock was stepped in between: the datagram then counts as received now.
 */
public final class ReceiveTime {
    private static final long MAX_AGE_NANOS = 1_000_000_000L;
    /** struct cmsghdr (len 8, level 4, type 4) followed by struct timespec (16). */
    public static final int CONTROL_BYTES = 32;

    private ReceiveTime() {}

    /** Asks the kernel to stamp every datagram received on fd. */
    public static void enable(int fd, String what) {
        Libc.setsockoptInt(fd, Libc.SOL_SOCKET, Libc.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS " + what);
    }

    /**
     * The arrival time found in the control messages {@code control[0, length)} of a recvmsg, as a
     * System.nanoTime() value; System.nanoTime() itself when there is no timestamp.
     */
    public static long of(MemorySegment control, long length) {
        long realtime = find(control, length);
        return realtime < 0 ? System.nanoTime() : monotonic(realtime, Libc.clockNanos(Libc.CLOCK_REALTIME), System.nanoTime());
    }

    /** The SCM_TIMESTAMPNS stamp in nanoseconds since the epoch, or -1. Bounded by the buffer. */
    static long find(MemorySegment control, long length) {
        long clen = Math.min(length, control.byteSize());
        long off = 0;
        for (int guard = 0; guard < 16 && off + 16 <= clen; guard++) {
            long len = control.get(ValueLayout.JAVA_LONG, off);
            int level = control.get(ValueLayout.JAVA_INT, off + 8);
            int type = control.get(ValueLayout.JAVA_INT, off + 12);
            if (len < 16 || off + len > clen) {
                return -1;
            }
            if (level == Libc.SOL_SOCKET && type == Libc.SCM_TIMESTAMPNS && len >= 32) {
                long sec = control.get(ValueLayout.JAVA_LONG, off + 16);
                long nsec = control.get(ValueLayout.JAVA_LONG, off + 24);
                return sec < 0 || nsec < 0 || nsec >= 1_000_000_000L ? -1 : sec * 1_000_000_000L + nsec;
            }
            off += (len + 7) & ~7L;
        }
        return -1;
    }

    /** A realtime stamp mapped onto the monotonic clock, given both clocks read now. */
    static long monotonic(long stampRealtime, long nowRealtime, long nowMonotonic) {
        long age = nowRealtime - stampRealtime;
        return age < 0 || age > MAX_AGE_NANOS ? nowMonotonic : nowMonotonic - age;
    }
}
