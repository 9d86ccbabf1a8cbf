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
    void outOfRangeIsRefused() {
        assertThatThrownBy(() -> RealtimeScheduling.applyToCurrentThread(100)).hasMessageContaining("0..99");
        assertThatThrownBy(() -> RealtimeScheduling.configure(-1, m -> {})).hasMessageContaining("0..99");
    }

    /** The kernel's own view: /proc/thread-self/stat, field 41 (policy). */
    private static String policyOfThisThread() {
        try {
            String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return f[41 - 3];
        } catch (Exception e) {
            return e.toString();
        }
    }
}
