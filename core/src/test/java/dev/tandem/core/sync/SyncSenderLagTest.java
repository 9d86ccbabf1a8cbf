package dev.tandem.core.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SyncSenderLagTest {
    private static final long MS = 1_000_000L;

    /** peer connects, resumes with nothing and gets an empty table: it follows the stream from now on. */
    static void following(SyncSender s, String peer, long now) {
        s.connected(now, peer);
        s.received(now, peer, new SyncMessage.Resume(-1, 0, false));
        s.bulk(now, peer, List.of());
    }

    @Test
    void eachAckedBatchGivesOneSendToAckSample() {
        SyncSender s = new SyncSender(new SyncSender.Config(1, 60_000, MS, 16, 0, 1000), 7);
        following(s, "fw2", 0);
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

    @Test
    void theResendWindowIsBoundedInBytesAndAResumeBeyondItGetsABulk() {
        // 100-byte values: a change is 7 + 1 + 100 = 108 bytes; a window of 300 bytes keeps 2 one-change batches
        SyncSender s = new SyncSender(new SyncSender.Config(1, 60_000, MS, 16, 0, 1000, 300), 7);
        following(s, "fw2", 0);
        for (int i = 0; i < 5; i++) {
            s.change(MS + i, SessionChange.upsert(new byte[]{(byte) i}, new byte[100], 60));
        }
        s.disconnected(2 * MS, "fw2");
        s.connected(3 * MS, "fw2");
        // batches 4 and 5 are kept: from 3 the peer is resent them
        List<SyncSender.Out> out = s.received(3 * MS, "fw2", new SyncMessage.Resume(7, 3, true));
        assertThat(out).hasSize(2).allMatch(o -> o instanceof SyncSender.Out.Send);
        s.disconnected(4 * MS, "fw2");
        s.connected(5 * MS, "fw2");
        // batch 3 is not: from 2 the peer needs the table again
        out = s.received(5 * MS, "fw2", new SyncMessage.Resume(7, 2, true));
        assertThat(out).hasSize(1).first().isInstanceOf(SyncSender.Out.Dump.class);
    }

    @Test
    void entriesPerSecondCountWhatWasSentOverTheLastWholeSecond() {
        SyncSender s = new SyncSender(new SyncSender.Config(1, 60_000, MS, 4096, 0, 1000), 7);
        following(s, "fw2", 0);
        s.tick(0);
        for (int i = 0; i < 300; i++) { // 300 in the first second
            s.change(i * MS, SessionChange.upsert(new byte[]{(byte) i, (byte) (i >> 8)}, new byte[]{1}, 60));
        }
        assertThat(s.stats().getFirst().entriesPerSecond()).as("no whole second yet").isZero();
        s.tick(1000 * MS);
        assertThat(s.stats().getFirst().entriesPerSecond()).isEqualTo(300);
        s.tick(2500 * MS);
        assertThat(s.stats().getFirst().entriesPerSecond()).as("a quiet 1.5 s").isZero();

        SyncReceiver r = new SyncReceiver(1000);
        r.received(0, new SyncMessage.BulkBegin(7));
        r.received(0, new SyncMessage.BulkEnd(7, 0, 0));
        for (int i = 1; i <= 50; i++) {
            r.received(i * 10 * MS, new SyncMessage.Batch(7, i, false,
                    List.of(SessionChange.upsert(new byte[]{(byte) i}, new byte[]{1}, 60))));
        }
        r.expire(1000 * MS);
        assertThat(r.appliedPerSecond()).isEqualTo(50);
    }
}
