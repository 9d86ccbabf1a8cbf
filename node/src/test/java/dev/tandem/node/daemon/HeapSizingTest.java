package dev.tandem.node.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeapSizingTest {
    @Test
    void theHeapFollowsMaxEntriesAndTheDefaultFitsTheLaunchersMaximum() {
        assertThat(HeapSizing.softTarget(false, 1_000_000)).isEqualTo(64L << 20);
        assertThat(HeapSizing.softTarget(true, 1_000_000)).isEqualTo((64L << 20) + 256_000_000L);
        assertThat(HeapSizing.softTarget(true, 10_000)).isLessThan(HeapSizing.softTarget(true, 100_000));
        // the launcher's -Xmx1g holds the default 1,000,000 sessions
        assertThat(HeapSizing.maxNeeded(true, 1_000_000)).isLessThan(1L << 30);
        // in this JVM (surefire's default heap): a line, whatever the flag's origin, never an exception
        String line = HeapSizing.apply(true, 1000);
        assertThat(line).startsWith("heap: ");
    }
}
