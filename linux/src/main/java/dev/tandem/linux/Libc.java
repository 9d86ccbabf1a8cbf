package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls Tandem needs, bound by hand through java.lang.foreign. errno is captured by
 * the call itself (reading it in a second downcall would see another call's value).
 */
public final class Libc {
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int AF_NETLINK = 16;
    public static final int AF_PACKET = 17;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1;
    public static final int SO_RCVBUF = 8;
    public static final int SO_RCVBUFFORCE = 33;
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVTIMEO = 20;
    public static final int SOL_NETLINK = 270;
    public static final int NETLINK_NO_ENOBUFS = 5;
    public static final int NETLINK_CAP_ACK = 10;
    public static final int SO_BINDTODEVICE = 25;
    /** Kernel receive timestamps (struct timespec, CLOCK_REALTIME) as SCM_TIMESTAMPNS control messages. */
    public static final int SO_TIMESTAMPNS = 35;
    public static final int SCM_TIMESTAMPNS = SO_TIMESTAMPNS;
    public static final int CLOCK_REALTIME = 0;
    public static final int IPPROTO_IP = 0;
    public static final int IPPROTO_IPV6 = 41;
    public static final int IP_TTL = 2;
    public static final int IP_MULTICAST_IF = 32;
    public static final int IP_MULTICAST_TTL = 33;
    public static final int IP_MULTICAST_LOOP = 34;
    public static final int IP_ADD_MEMBERSHIP = 35;
    public static final int IPV6_UNICAST_HOPS = 16;
    public static final int IPV6_MULTICAST_IF = 17;
    public static final int IPV6_MULTICAST_HOPS = 18;
    public static final int IPV6_MULTICAST_LOOP = 19;
    public static final int IPV6_ADD_MEMBERSHIP = 20;
    public static final int IPV6_RECVPKTINFO = 49;
    public static final int IPV6_PKTINFO = 50;
    public static final int IPV6_RECVHOPLIMIT = 51;
    public static final int IPV6_HOPLIMIT = 52;
    public static final short POLLIN = 1;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final MemoryLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
    private static final ValueLayout P = ValueLayout.ADDRESS;

    private static final MethodHandle SOCKET = bind("socket", FunctionDescriptor.of(I, I, I, I));
    private static final MethodHandle SETSOCKOPT = bind("setsockopt", FunctionDescriptor.of(I, I, I, I, P, I));
    private static final MethodHandle BIND = bind("bind", FunctionDescriptor.of(I, I, P, I));
    private static final MethodHandle SENDTO = bind("sendto", FunctionDescriptor.of(L, I, P, L, I, P, I));
    private static final MethodHandle RECVMSG = bind("recvmsg", FunctionDescriptor.of(L, I, P, I));
    private static final MethodHandle RECV = bind("recv", FunctionDescriptor.of(L, I, P, L, I));
    private static final MethodHandle RECVMMSG = bind("recvmmsg", FunctionDescriptor.of(I, I, P, I, I, P));
    private static final MethodHandle POLL = bind("poll", FunctionDescriptor.of(I, P, L, I));
    private static final MethodHandle EVENTFD = bind("eventfd", FunctionDescriptor.of(I, I, I));
    private static final MethodHandle WRITE = bind("write", FunctionDescriptor.of(L, I, P, L));
    private static final MethodHandle READ = bind("read", FunctionDescriptor.of(L, I, P, L));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(I, I));
    private static final MethodHandle MEMFD_CREATE = bind("memfd_create", FunctionDescriptor.of(I, P, I));
    private static final MethodHandle IF_NAMETOINDEX = bind("if_nametoindex", FunctionDescriptor.of(I, P));
    private static final MethodHandle SCHED_SETSCHEDULER = bind("sched_setscheduler", FunctionDescriptor.of(I, I, I, P));
    private static final MethodHandle CLOCK_GETTIME = bind("clock_gettime", FunctionDescriptor.of(I, I, P));
    private static final MethodHandle SCHED_GETSCHEDULER = bind("sched_getscheduler", FunctionDescriptor.of(I, I));

    /** One capture buffer per thread: errno is per thread too. */
    private static final ThreadLocal<MemorySegment> STATE = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(CAPTURE));

    private Libc() {}

    private static MethodHandle bind(String name, FunctionDescriptor fd) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name));
        return LINKER.downcallHandle(sym, fd, ERRNO);
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO_HANDLE.get(state, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }

    public static int socket(int domain, int type, int protocol) {
        MemorySegment st = STATE.get();
        try {
            int fd = (int) SOCKET.invokeExact(st, domain, type | SOCK_CLOEXEC, protocol);
            if (fd < 0) {
                throw new NativeException("socket(" + domain + ", " + type + ", " + protocol + ")", errno(st));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void setsockopt(int fd, int level, int name, MemorySegment value, String what) {
        MemorySegment st = STATE.get();
        try {
            int r = (int) SETSOCKOPT.invokeExact(st, fd, level, name, value, (int) value.byteSize());
            if (r < 0) {
                throw new NativeException("setsockopt(" + what + ")", errno(st));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void setsockoptInt(int fd, int level, int name, int value, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(I);
            v.set(I, 0, value);
            setsockopt(fd, level, name, v, what);
        }
    }

    public static void bind(int fd, MemorySegment addr, String what) {
        MemorySegment st = STATE.get();
        try {
            int r = (int) BIND.invokeExact(st, fd, addr, (int) addr.byteSize());
            if (r < 0) {
                throw new NativeException("bind(" + what + ")", errno(st));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long sendto(int fd, MemorySegment buf, long len, MemorySegment addr, String what) {
        MemorySegment st = STATE.get();
        try {
            long r = (long) SENDTO.invokeExact(st, fd, buf, len, 0, addr, (int) addr.byteSize());
            if (r < 0) {
                throw new NativeException("sendto(" + what + ")", errno(st));
            }
            return r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final ThreadLocal<MemorySegment> TIMESPEC = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));

    /** clock_gettime(clock) in nanoseconds (CLOCK_REALTIME: since the epoch). */
    public static long clockNanos(int clock) {
        MemorySegment ts = TIMESPEC.get();
        MemorySegment st = STATE.get();
        try {
            int r = (int) CLOCK_GETTIME.invokeExact(st, clock, ts);
            if (r != 0) {
                throw new NativeException("clock_gettime(" + clock + ")", errno(st));
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return ts.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + ts.get(ValueLayout.JAVA_LONG, 8);
    }

    /** Returns the byte count, or -errno (callers decide which errors are expected). */
    public static long recvmsg(int fd, MemorySegment msghdr, int flags) {
        MemorySegment st = STATE.get();
        try {
            long r = (long) RECVMSG.invokeExact(st, fd, msghdr, flags);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** recvmmsg without a timeout: returns the number of datagrams received, or -errno. */
    public static int recvmmsg(int fd, MemorySegment msgvec, int vlen, int flags) {
        MemorySegment st = STATE.get();
        try {
            int r = (int) RECVMMSG.invokeExact(st, fd, msgvec, vlen, flags, MemorySegment.NULL);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Returns the byte count, or -errno. */
    public static long recv(int fd, MemorySegment buf, long len, int flags) {
        MemorySegment st = STATE.get();
        try {
            long r = (long) RECV.invokeExact(st, fd, buf, len, flags);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Returns the number of ready descriptors, or -errno. */
    public static int poll(MemorySegment fds, long nfds, int timeoutMs) {
        MemorySegment st = STATE.get();
        try {
            int r = (int) POLL.invokeExact(st, fds, nfds, timeoutMs);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int eventfd() {
        MemorySegment st = STATE.get();
        try {
            int fd = (int) EVENTFD.invokeExact(st, 0, EFD_CLOEXEC);
            if (fd < 0) {
                throw new NativeException("eventfd", errno(st));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Adds 1 to an eventfd: wakes whoever polls it. */
    public static void signal(int eventFd) {
        MemorySegment st = STATE.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(L);
            one.set(L, 0, 1L);
            long r = (long) WRITE.invokeExact(st, eventFd, one, 8L);
            if (r < 0) {
                throw new NativeException("write(eventfd)", errno(st));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static final int MFD_CLOEXEC = 1;

    /** An anonymous in-memory file (memfd_create), close-on-exec. */
    public static int memfdCreate(String name) {
        MemorySegment st = STATE.get();
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) MEMFD_CREATE.invokeExact(st, a.allocateFrom(name), MFD_CLOEXEC);
            if (fd < 0) {
                throw new NativeException("memfd_create(" + name + ")", errno(st));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Writes all {@code len} bytes of {@code buf} (retrying short writes). */
    public static void writeAll(int fd, MemorySegment buf, long len, String what) {
        MemorySegment st = STATE.get();
        long done = 0;
        try {
            while (done < len) {
                long r = (long) WRITE.invokeExact(st, fd, buf.asSlice(done), len - done);
                if (r < 0) {
                    int e = errno(st);
                    if (e == 4) { // EINTR
                        continue;
                    }
                    throw new NativeException("write(" + what + ")", e);
                }
                done += r;
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void close(int fd) {
        if (fd < 0) {
            return;
        }
        MemorySegment st = STATE.get();
        try {
            int ignored = (int) CLOSE.invokeExact(st, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** sched_setscheduler(0 = the calling thread, policy, {priority}); 0 or -errno. */
    public static int schedSetScheduler(int policy, int priority) {
        return schedSetScheduler(0, policy, priority);
    }

    /** sched_setscheduler(tid, policy, {priority}) for one thread of this process; 0 or -errno. */
    public static int schedSetScheduler(int tid, int policy, int priority) {
        MemorySegment st = STATE.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment param = a.allocate(I); // struct sched_param { int sched_priority; }
            param.set(I, 0, priority);
            int r = (int) SCHED_SETSCHEDULER.invokeExact(st, tid, policy, param);
            return r == 0 ? 0 : -errno(st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The calling thread's scheduling policy, or -errno. */
    public static int schedGetScheduler() {
        MemorySegment st = STATE.get();
        try {
            int r = (int) SCHED_GETSCHEDULER.invokeExact(st, 0);
            return r >= 0 ? r : -errno(st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int ifNameToIndex(String name) {
        MemorySegment st = STATE.get();
        try (Arena a = Arena.ofConfined()) {
            int idx = (int) IF_NAMETOINDEX.invokeExact(st, a.allocateFrom(name));
            if (idx == 0) {
                throw new NativeException("if_nametoindex(" + name + ")", errno(st));
            }
            return idx;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads (and so resets) an eventfd counter; used only for tests and drains. */
    static long readEventFd(int fd) {
        MemorySegment st = STATE.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(L);
            long r = (long) READ.invokeExact(st, fd, v, 8L);
            return r < 0 ? -errno(st) : v.get(L, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
