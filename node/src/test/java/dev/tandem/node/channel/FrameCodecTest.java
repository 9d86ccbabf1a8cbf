package dev.tandem.node.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.core.ha.NodeState;
import java.io.ByteArrayInputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
    @Test
    void roundTrip() throws Exception {
        byte[] b = FrameCodec.encode(FrameCodec.Type.HELLO, List.of("fw1", "primary", "ACTIVE", "250", "0.1.0", "", "ü"));
        FrameCodec.Frame f = FrameCodec.decode(b);
        assertThat(f.type()).isEqualTo(FrameCodec.Type.HELLO);
        assertThat(f.fields()).containsExactly("fw1", "primary", "ACTIVE", "250", "0.1.0", "", "ü");
        assertThat(FrameCodec.read(new ByteArrayInputStream(b)).fields()).hasSize(7);
        assertThat(FrameCodec.read(new ByteArrayInputStream(new byte[0]))).isNull();
    }

    @Test
    void badFramesAreRefusedWithAReason() {
        byte[] good = FrameCodec.encode(FrameCodec.Type.RELEASE, List.of("bye"));
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertThatThrownBy(() -> FrameCodec.decode(magic)).hasMessageContaining("bad magic");
        byte[] version = good.clone();
        version[2] = 9;
        assertThatThrownBy(() -> FrameCodec.decode(version)).hasMessageContaining("frame version 9");
        byte[] type = good.clone();
        type[3] = 77;
        assertThatThrownBy(() -> FrameCodec.decode(type)).hasMessageContaining("unknown frame type 77");
        byte[] huge = good.clone();
        huge[4] = 0x7f;
        assertThatThrownBy(() -> FrameCodec.read(new ByteArrayInputStream(huge))).hasMessageContaining("oversize frame");
        byte[] cut = java.util.Arrays.copyOf(good, good.length - 1);
        assertThatThrownBy(() -> FrameCodec.read(new ByteArrayInputStream(cut))).hasMessageContaining("closed inside");
        byte[] field = good.clone();
        field[10] = 0x7f; // field length runs past the frame
        assertThatThrownBy(() -> FrameCodec.decode(field)).hasMessageContaining("runs past the frame");
    }

    @Test
    void heartbeatsNeedTheRightKey() {
        byte[] key = new byte[32];
        key[0] = 1;
        byte[] p = HeartbeatCodec.encode(new HeartbeatCodec.Heartbeat("fw1", NodeState.ACTIVE, 250, 7), key);
        assertThat(HeartbeatCodec.sender(p, p.length)).isEqualTo("fw1");
        HeartbeatCodec.Heartbeat h = HeartbeatCodec.decode(p, p.length, key);
        assertThat(h).isEqualTo(new HeartbeatCodec.Heartbeat("fw1", NodeState.ACTIVE, 250, 7));
        assertThat(HeartbeatCodec.decode(p, p.length, new byte[32])).as("wrong key").isNull();
        p[7] ^= 1;
        assertThat(HeartbeatCodec.decode(p, p.length, key)).as("tampered").isNull();
    }

    @Test
    void versions() {
        assertThat(PeerChannel.compareVersions("0.1.0", "0.1.0")).isNull();
        assertThat(PeerChannel.compareVersions("0.1.0", "0.1.3")).startsWith("warning");
        assertThat(PeerChannel.compareVersions("0.1.0", "0.2.0")).startsWith("refuse").contains("major.minor");
        assertThat(PeerChannel.compareVersions("0.1.0", "garbage")).startsWith("refuse");
    }
}
