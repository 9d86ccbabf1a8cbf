package dev.tandem.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class ProbeStreamTest {
    private static final int INTERVAL = 1000; // micros

    /** Probes sent every millisecond, except where {@code pauseAt} holds a pause of the sender. */
    private static long[] sentAt(int n, int pauseAt, int pauseMicros) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = (long) i * INTERVAL + (pauseAt >= 0 && i >= pauseAt ? pauseMicros : 0);
        }
        return t;
    }

    private static BitSet repliedExcept(int n, int from, int to) {
        BitSet b = new BitSet(n);
        b.set(0, n);
        b.clear(from, to);
        return b;
    }

    @Test
    void noLossIsNoOutageEvenWhenTheSenderPaused() {
        long[] w = ProbeStream.lossWindow(sentAt(100, 50, 11_000), repliedExcept(100, 0, 0), 100, INTERVAL);
        assertThat(w).containsExactly(0, 0);
    }

    @Test
    void aRunOfLostProbesIsItsLengthInTime() {
        long[] w = ProbeStream.lossWindow(sentAt(100, -1, 0), repliedExcept(100, 40, 45), 100, INTERVAL);
        assertThat(w).containsExactly(5_000, 1);
        w = ProbeStream.lossWindow(sentAt(100, -1, 0), repliedExcept(100, 10, 11), 100, INTERVAL);
        assertThat(w).containsExactly(INTERVAL, 1);
    }

    @Test
    void theLongestOfSeveralRunsCountsAndASenderPauseInsideARunIsPartOfIt() {
        BitSet r = repliedExcept(200, 20, 25);
        r.clear(100, 103);
        // the sender paused 3 ms just as the second run began: the path was dark for all of it
        long[] w = ProbeStream.lossWindow(sentAt(200, 102, 3_000), r, 200, INTERVAL);
        assertThat(w).containsExactly(3 * INTERVAL + 3_000, 2);
    }

    @Test
    void lossBeforeTheFirstOrAfterTheLastReplyIsNotAnOutage() {
        BitSet r = repliedExcept(100, 0, 5);
        r.clear(90, 100);
        assertThat(ProbeStream.lossWindow(sentAt(100, -1, 0), r, 100, INTERVAL)).containsExactly(0, 0);
        assertThat(ProbeStream.lossWindow(sentAt(10, -1, 0), new BitSet(), 10, INTERVAL)).containsExactly(0, 0);
    }

    @Test
    void probesAndEchoesGiveLossLateEchoesAndTheOutage() {
        ProbeStream.Probes p = new ProbeStream.Probes();
        long ms = 1_000_000;
        for (int s = 0; s < 100; s++) {
            long t = s * 200_000L;
            p.probe(s, t);
            if (s >= 40 && s < 44) {
                continue; // 4 lost
            }
            p.echo(s, t + (s >= 44 && s < 47 ? 3 * ms : 50_000)); // 3 late: queued behind a neighbour lookup
        }
        p.echo(50, 50 * 200_000L + 60_000); // a duplicate
        p.echo(500, 1); // never seen leaving
        ProbeStream.Result r = p.result();
        assertThat(r.sent()).isEqualTo(100);
        assertThat(r.received()).isEqualTo(98);
        assertThat(r.late()).isEqualTo(3);
        assertThat(r.lost()).isEqualTo(7);
        assertThat(r.lossRuns()).isEqualTo(1);
        assertThat(r.outageMs()).isEqualTo(1.4); // probes 40..46 did not come back in time: 7 x 0.2 ms
    }

    @Test
    void aProbeTheClientNeverSentIsNoLoss() {
        ProbeStream.Probes p = new ProbeStream.Probes();
        for (int s = 0; s < 50; s++) {
            if (s == 20) {
                continue; // the client skipped a slot after a late wake-up: number 20 never left
            }
            p.probe(s, s * 200_000L);
            p.echo(s, s * 200_000L + 40_000);
        }
        assertThat(p.result().lossRuns()).isZero();
        assertThat(p.result().outageMs()).isZero();
    }

    @Test
    void aCaptureThatIsNotPcapIsRefusedByName() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProbeStream.read(new byte[30]))
                .hasMessageContaining("not a little-endian pcap");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProbeStream.read(new byte[3]))
                .hasMessageContaining("no pcap header");
    }
}
