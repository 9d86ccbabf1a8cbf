package dev.tandem.core.ha;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeartbeatJitterTest {
    static final long MS = 1_000_000L;
    static final long S = 1_000 * MS;

    @Test
    void theLongestGapOfTheLastMinuteCountsAndOlderOnesAgeOut() {
        HeartbeatJitter j = new HeartbeatJitter(32 * MS);
        long t = 100 * S;
        assertThat(j.established(t)).isFalse();
        j.gap(t, 2 * MS);
        assertThat(j.established(t + 4 * S)).isFalse();
        j.gap(t + 1 * S, 7 * MS);
        j.gap(t + 20 * S, 3 * MS);
        assertThat(j.established(t + 20 * S)).isTrue();
        assertThat(j.recentMax(t + 20 * S)).isEqualTo(7 * MS);
        assertThat(j.recentMax(t + 28 * S)).isEqualTo(7 * MS);
        assertThat(j.recentMax(t + 36 * S)).as("the 7 ms gap is over 30 s old").isEqualTo(3 * MS);
        assertThat(j.recentMax(t + 200 * S)).isZero();
    }

    @Test
    void aPathOutageIsNotLatenessAndResetForgetsEverything() {
        HeartbeatJitter j = new HeartbeatJitter(32 * MS);
        j.gap(0, 2 * MS);
        j.gap(1 * S, 5 * S); // the path was cut
        j.gap(2 * S, -1);
        assertThat(j.recentMax(2 * S)).isEqualTo(2 * MS);
        j.reset();
        assertThat(j.established(10 * S)).isFalse();
        assertThat(j.recentMax(10 * S)).isZero();
    }

    @Test
    void aBucketReusedAfterAMinuteStartsEmpty() {
        HeartbeatJitter j = new HeartbeatJitter(32 * MS);
        j.gap(0, 9 * MS);
        j.gap(HeartbeatJitter.BUCKETS * HeartbeatJitter.BUCKET_NANOS, 2 * MS); // same slot, 30 s later
        assertThat(j.recentMax(HeartbeatJitter.BUCKETS * HeartbeatJitter.BUCKET_NANOS)).isEqualTo(2 * MS);
    }
}
