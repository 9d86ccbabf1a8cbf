package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RealtimeSchedulingTest {

    @Test
    void aThreadTakesFifoAndGivesItBack() throws Exception {
        AtomicReference<String> seen = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            String err = RealtimeScheduling.applyToCurrentThread(5);
            boolean fifo = RealtimeScheduling.currentThreadIsRealtime();
            String policy = policyOfThisThread();
            String back = RealtimeScheduling.applyToCurrentThread(0);
            seen.set(err + " " + fifo + " " + policy + " " + back + " " + RealtimeScheduling.currentThreadIsRealtime());
        });
        t.join(5000);
        // root here (the tests need it for namespaces): the call must work; field 41 of stat is the policy (1 = FIFO)
        assertThat(seen.get()).isEqualTo("null true 1 null false");
        assertThat(RealtimeScheduling.currentThreadIsRealtime()).as("only the calling thread changed").isFalse();
    }

    @Test
    void aThreadStartedByARealtimeThreadIsOrdinary() throws Exception {
        AtomicReference<String> seen = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            RealtimeScheduling.applyToCurrentThread(5);
            AtomicReference<String> child = new AtomicReference<>();
            Thread c = Thread.ofPlatform().start(() -> child.set(policyOfThisThread()));
            try {
                c.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            seen.set(policyOfThisThread() + " " + child.get());
            RealtimeScheduling.applyToCurrentThread(0);
        });
        t.join(5000);
        assertThat(seen.get()).as("parent FIFO, child SCHED_OTHER (reset on fork)").isEqualTo("1 0");
    }

    @Test
    void theJvmsVmThreadTakesTheConfiguredPriority() throws Exception {
        RealtimeScheduling.configure(5, m -> {});
        try {
            assertThat(RealtimeScheduling.applyToVmThread()).isNull();
            String tid = vmThread();
            assertThat(policyOf(Path.of("/proc/self/task", tid, "stat"))).isEqualTo("1");
            assertThat(Libc.schedSetScheduler(Integer.parseInt(tid), 0, 0)).isZero();
        } finally {
            RealtimeScheduling.configure(0, m -> {});
        }
        assertThat(RealtimeScheduling.applyToVmThread()).as("not configured: nothing to do").isNull();
    }

    private static String vmThread() throws Exception {
        try (var ts = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : ts.toList()) {
                if (Files.readString(t.resolve("comm")).strip().equals("VM Thread")) {
                    return t.getFileName().toString();
                }
            }
        }
        throw new AssertionError("no VM Thread");
    }

    @Test
    void outOfRangeIsRefused() {
        assertThatThrownBy(() -> RealtimeScheduling.applyToCurrentThread(100)).hasMessageContaining("0..99");
        assertThatThrownBy(() -> RealtimeScheduling.configure(-1, m -> {})).hasMessageContaining("0..99");
    }

    /** The kernel's own view: /proc/thread-self/stat, field 41 (policy). */
    private static String policyOfThisThread() {
        return policyOf(Path.of("/proc/thread-self/stat"));
    }

    private static String policyOf(Path statFile) {
        try {
            String stat = Files.readString(statFile);
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return f[41 - 3];
        } catch (Exception e) {
            return e.toString();
        }
    }
}
