package dev.tandem.core.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LagSamplesTest {
    @Test
    void emptyHasNoPercentiles() {
        assertThat(new LagSamples(10).percentile(50)).isEqualTo(-1);
    }

    @Test
    void nearestRankOverTheSamplesHeld() {
        LagSamples s = new LagSamples(1000);
        for (int i = 100; i >= 1; i--) {
            s.add(i);
        }
        assertThat(s.percentiles(50, 99, 100, 0)).containsExactly(50, 99, 100, 1);
        assertThat(s.size()).isEqualTo(100);
    }

    @Test
    void keepsOnlyTheLastCapacitySamples() {
        LagSamples s = new LagSamples(10);
        for (int i = 1; i <= 25; i++) {
            s.add(i * 1000L);
        }
        assertThat(s.size()).isEqualTo(10);
        assertThat(s.total()).isEqualTo(25);
        assertThat(s.percentile(0)).isEqualTo(16_000);
        assertThat(s.percentile(100)).isEqualTo(25_000);
        s.clear();
        assertThat(s.percentile(50)).isEqualTo(-1);
    }

    @Test
    void rejectsOutOfRange() {
        assertThatThrownBy(() -> new LagSamples(0)).isInstanceOf(IllegalArgumentException.class);
        LagSamples s = new LagSamples(1);
        s.add(1);
        assertThatThrownBy(() -> s.percentile(101)).isInstanceOf(IllegalArgumentException.class);
    }
}
