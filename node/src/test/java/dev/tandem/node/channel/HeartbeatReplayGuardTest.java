package dev.tandem.node.channel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeartbeatReplayGuardTest {
    @Test
    void aReplayedOrOlderHeartbeatIsRefusedAndANewKeyStartsAfresh() {
        HeartbeatReplayGuard g = new HeartbeatReplayGuard();
        byte[] k1 = new byte[32];
        k1[0] = 1;
        assertThat(g.accept("fw1", k1, 7)).isTrue();
        assertThat(g.accept("fw1", k1, 8)).isTrue();
        assertThat(g.accept("fw1", k1, 8)).as("the same heartbeat again").isFalse();
        assertThat(g.accept("fw1", k1, 3)).as("an older one").isFalse();
        assertThat(g.accept("fw1", k1.clone(), 9)).as("the same key, another array").isTrue();
        assertThat(g.accept("fw2", k1, 0)).as("another peer has its own count").isTrue();
        byte[] k2 = new byte[32];
        k2[0] = 2;
        assertThat(g.accept("fw1", k2, 0)).as("fw1 restarted: new key, sequence from 0").isTrue();
        assertThat(g.accept("fw1", k2, 0)).isFalse();
        assertThat(g.accept("fw1", k1, 100)).as("the old key's heartbeats start afresh too, but only once")
                .isTrue();
        assertThat(g.accept("fw1", k1, 100)).isFalse();
    }
}
