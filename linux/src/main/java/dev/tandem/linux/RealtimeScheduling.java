package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * SCHED_FIFO for the calling thread (sched_setscheduler(0, ...) acts on the thread, not the
 * process). The threads on a failover's path — the node loop and the readers of adverts, link
 * events, heartbeats and the channel — then run before ordinary work the moment they wake, so a
 * busy firewall (a session-sync burst, a 10,000-rule nft transaction, other daemons) does not add
 * milliseconds to a takeover. They block between events and every loop of theirs is bounded; the
 * kernel's RT throttling (sched_rt_runtime_us) still leaves the CPU to others if one ever spins.
 */
public final class RealtimeScheduling {
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_FIFO = 1;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final MemoryLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SCHED_SETSCHEDULER = LINKER.downcallHandle(
            LINKER.defaultLookup().find("sched_setscheduler").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            ERRNO);
    private static final MethodHandle SCHED_GETSCHEDULER = LINKER.downcallHandle(
            LINKER.defaultLookup().find("sched_getscheduler").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), ERRNO);

    private static volatile int configured;
    private static volatile java.util.function.Consumer<String> failures = m -> {};
    private static final java.util.concurrent.atomic.AtomicBoolean REPORTED = new java.util.concurrent.atomic.AtomicBoolean();

    private RealtimeScheduling() {}

    /**
     * The priority the failover-path threads take when they start ({@link #enterIfConfigured}); 0 =
     * ordinary scheduling. The first failure is reported once through {@code onFailure}.
     */
    public static void configure(int priority, java.util.function.Consumer<String> onFailure) {
        if (priority < 0 || priority > 99) {
            throw new IllegalArgumentException("realtime priority " + priority + " out of 0..99");
        }
        failures = onFailure;
        configured = priority;
    }

    /** Back to ordinary scheduling (a thread that leaves the failover path, e.g. to reconnect). */
    public static void leave() {
        if (configured != 0) {
            applyToCurrentThread(0);
        }
    }

    /** Called by a failover-path thread as it starts: takes the configured priority, if any. */
    public static void enterIfConfigured() {
        int p = configured;
        if (p == 0) {
            return;
        }
        String why = applyToCurrentThread(p);
        if (why != null && REPORTED.compareAndSet(false, true)) {
            failures.accept("thread " + Thread.currentThread().getName() + " could not take SCHED_FIFO priority " + p
                    + " (" + why + "); the failover path runs with ordinary scheduling");
        }
    }

    /**
     * Puts the calling thread in SCHED_FIFO at {@code priority} (1..99), or back in SCHED_OTHER for 0.
     * Returns null, or why not (e.g. "EPERM: ..." without CAP_SYS_NICE or RT budget in the cgroup).
     */
    public static String applyToCurrentThread(int priority) {
        if (priority < 0 || priority > 99) {
            throw new IllegalArgumentException("realtime priority " + priority + " out of 0..99");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment param = a.allocate(ValueLayout.JAVA_INT); // struct sched_param { int sched_priority; }
            param.set(ValueLayout.JAVA_INT, 0, priority);
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) SCHED_SETSCHEDULER.invokeExact(st, 0, priority == 0 ? SCHED_OTHER : SCHED_FIFO, param);
            if (r != 0) {
                int e = (int) ERRNO_HANDLE.get(st, 0L);
                return Errno.name(e) + ": " + Errno.describe(e);
            }
            return null;
        } catch (Throwable t) {
            return t.toString();
        }
    }

    /** True if the calling thread runs in SCHED_FIFO. */
    public static boolean currentThreadIsRealtime() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            return (int) SCHED_GETSCHEDULER.invokeExact(st, 0) == SCHED_FIFO;
        } catch (Throwable t) {
            return false;
        }
    }
}
