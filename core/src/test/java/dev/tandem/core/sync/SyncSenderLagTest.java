package dev.tandem.core.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SyncSenderLagTest {
    private static final long MS = 1_000_000L;

    @Test
    void eachAckedBatchGivesOneSendToAckSample() {
        SyncSender s = new SyncSender(new SyncSender.Config(1, 60_000, MS, 16, 0, 1000), 7);
        s.connected(0, "fw2");
        s.received(0, "fw2", new SyncMessage.Resume(-1, 0, false));
        s.bulk(0, "fw2", List.of());
        assertThat(s.stats().getFirst().lag().samples()).isZero();
        assertThat(s.stats().getFirst().lag().p50Nanos()).isEqualTo(-1);
        for (int i = 0; i < 3; i++) { // batches 1..3 sent at 10, 11, 12 ms
            s.change((10 + i) * MS, SessionChange.upsert(new byte[]{(byte) i}, new byte[]{1}, 60));
        }
        s.received(20 * MS, "fw2", new SyncMessage.Ack(7, 2)); // covers 1 and 2: 10 and 9 ms
        s.received(15 * MS, "fw2", new SyncMessage.Ack(7, 2)); // nothing new
        s.received(14 * MS, "fw2", new SyncMessage.Ack(7, 3)); // 2 ms
        SyncSender.Lag lag = s.stats().getFirst().lag();
        assertThat(lag.samples()).isEqualTo(3);
        assertThat(lag.p50Nanos()).isEqualTo(9 * MS);
        assertThat(lag.p99Nanos()).isEqualTo(10 * MS);
        assertThat(lag.maxNanos()).isEqualTo(10 * MS);
        assertThat(s.stats().getFirst().lagNanos()).isEqualTo(2 * MS);
    }
}
