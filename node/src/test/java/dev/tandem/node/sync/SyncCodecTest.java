package dev.tandem.node.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.core.sync.SessionChange;
import dev.tandem.core.sync.SyncMessage;
import dev.tandem.linux.ConntrackEntry;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class SyncCodecTest {

    static ConntrackEntry snatTcp() throws Exception {
        // 10.10.1.100:40000 -> 10.10.2.100:9000, SNAT to 10.10.2.254:40000
        ConntrackEntry.Tuple orig = ConntrackEntry.Tuple.ports(InetAddress.getByName("10.10.1.100"),
                InetAddress.getByName("10.10.2.100"), 40000, 9000);
        ConntrackEntry.Tuple reply = ConntrackEntry.Tuple.ports(InetAddress.getByName("10.10.2.100"),
                InetAddress.getByName("10.10.2.254"), 9000, 40000);
        return new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.TCP, orig, reply,
                ConntrackEntry.IPS_CONFIRMED | ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_SEEN_REPLY, 432000, 7, 0,
                new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.ESTABLISHED, 7, 7, 0, 0), OptionalLong.of(99));
    }

    @Test
    void aSessionRoundTripsWithItsNatAndWithoutTheKernelId() throws Exception {
        ConntrackEntry e = snatTcp();
        ConntrackEntry back = SessionCodec.decode(SessionCodec.value(e));
        assertThat(back).isEqualTo(e.withoutId());
        assertThat(back.isSourceNat()).isTrue();
        assertThat(SessionCodec.key(e)).isEqualTo(SessionCodec.key(back.withTimeout(5)));
    }

    @Test
    void framesRoundTripAndGarbageIsRefusedWithAReason() throws Exception {
        byte[] v = SessionCodec.value(snatTcp());
        List<SyncMessage> all = List.of(new SyncMessage.Batch(5, 7, false, List.of(SessionChange.upsert(new byte[]{1, 2}, v, 60),
                        SessionChange.delete(new byte[]{3}))), new SyncMessage.BulkBegin(5), new SyncMessage.BulkEnd(5, 7, 1000),
                new SyncMessage.Ack(5, 7), new SyncMessage.Resume(5, 7, true),
                new SyncMessage.Batch(5, 7, false, List.of())); // (empty: the sender's keepalive)
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (SyncMessage m : all) {
            out.write(SyncFrameCodec.encode(m));
        }
        ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());
        for (SyncMessage m : all) {
            SyncMessage r = SyncFrameCodec.read(in);
            if (m instanceof SyncMessage.Batch b) {
                SyncMessage.Batch rb = (SyncMessage.Batch) r;
                assertThat(rb.changes()).isEqualTo(b.changes());
                assertThat(rb.seq()).isEqualTo(7);
            } else {
                assertThat(r).isEqualTo(m);
            }
        }
        assertThat(SyncFrameCodec.read(in)).isNull();
        assertThatThrownBy(() -> SyncFrameCodec.read(new ByteArrayInputStream(new byte[]{0x7f, 0, 0, 0})))
                .isInstanceOf(SyncFrameCodec.BadFrame.class).hasMessageContaining("frame length");
        assertThatThrownBy(() -> SyncFrameCodec.decode(new byte[]{1, 9})).hasMessageContaining("unknown sync frame type 9");
        assertThatThrownBy(() -> SyncFrameCodec.decode(new byte[]{2, 1})).hasMessageContaining("version 2");
        assertThatThrownBy(() -> SessionCodec.decode(new byte[]{1, 0, 6})).hasMessageContaining("truncated");
    }
}
