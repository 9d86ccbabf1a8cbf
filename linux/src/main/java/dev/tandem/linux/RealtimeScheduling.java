package dev.tandem.linux;

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
    /**
     * Threads a real-time thread creates start in ordinary scheduling: without it the JDK's
     * virtual-thread carriers, first started from the loop, ran SCHED_FIFO (seen in the lab).
     */
    private static final int SCHED_RESET_ON_FORK = 0x40000000;

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
        int r = Libc.schedSetScheduler(priority == 0 ? SCHED_OTHER : SCHED_FIFO | SCHED_RESET_ON_FORK, priority);
        return r == 0 ? null : Errno.name(-r) + ": " + Errno.describe(-r);
    }

    /**
     * Puts this JVM's own "VM Thread" in SCHED_FIFO at the configured priority, if one is. Every
     * safepoint (a ZGC pause, a deoptimisation) stops all Java threads, the real-time ones included,
     * until the VM thread has done its work; at ordinary priority on a busy host it waited behind
     * other real-time threads, and the whole JVM stalled for milliseconds. Its work is short and
     * bounded. Returns null, or why not.
     */
    public static String applyToVmThread() {
        int p = configured;
        if (p == 0) {
            return null;
        }
        java.nio.file.Path tasks = java.nio.file.Path.of("/proc/self/task");
        try (java.util.stream.Stream<java.nio.file.Path> ts = java.nio.file.Files.list(tasks)) {
            for (java.nio.file.Path t : (Iterable<java.nio.file.Path>) ts.limit(10_000)::iterator) {
                String comm;
                try {
                    comm = java.nio.file.Files.readString(t.resolve("comm")).strip();
                } catch (java.io.IOException e) {
                    continue; // the thread ended
                }
                if (comm.equals("VM Thread")) {
                    int r = Libc.schedSetScheduler(Integer.parseInt(t.getFileName().toString()),
                            SCHED_FIFO | SCHED_RESET_ON_FORK, p);
                    return r == 0 ? null : Errno.name(-r) + ": " + Errno.describe(-r);
                }
            }
            return "no thread named \"VM Thread\" in " + tasks;
        } catch (java.io.IOException | RuntimeException e) {
            return "cannot list " + tasks + ": " + e.getMessage();
        }
    }

    /** True if the calling thread runs in SCHED_FIFO. */
    public static boolean currentThreadIsRealtime() {
        return (Libc.schedGetScheduler() & ~SCHED_RESET_ON_FORK) == SCHED_FIFO;
    }
}
