package dev.tandem.core.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.sync.SyncReceiver.KernelWrite;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How long a passive keeps a session: the active's kernel refreshes a live session's timeout with every
 * packet and sends no event for it, so the copy lives while the active is heard (keepalives on an idle
 * stream) and ends its timeout after the active falls silent.
 */
class SessionLifetimeTest {
    private static final long S = 1_000_000_000L;
    private static final long EPOCH = 7;

    private static SessionChange up(String k, int timeoutSeconds) {
        return SessionChange.upsert(k.getBytes(StandardCharsets.UTF_8), (k + "=1").getBytes(StandardCharsets.UTF_8),
                timeoutSeconds);
    }

    /** A bulk at time 0 holding the sessions, then empty batches (keepalives) every second until heardUntil. */
    private static SyncReceiver synced(SyncReceiver r, long heardUntil, SessionChange... sessions) {
        r.received(0, new SyncMessage.BulkBegin(EPOCH));
        r.received(0, new SyncMessage.Batch(EPOCH, 0, true, List.of(sessions)));
        r.received(0, new SyncMessage.BulkEnd(EPOCH, 0, sessions.length));
        long seq = 0;
        for (long t = S; t <= heardUntil; t += S) {
            r.received(t, new SyncMessage.Batch(EPOCH, ++seq, false, List.of()));
        }
        return r;
    }

    @Test
    void aSessionLivesWhileTheActiveIsHeardHoweverLongAgoItChanged() {
        SyncReceiver r = synced(new SyncReceiver(100), 600 * S, up("udp", 120), up("tcp", 432_000));
        assertThat(r.expire(600 * S)).as("a UDP flow unchanged for 600 s of its 120 s timeout is still live").isZero();
        assertThat(r.size()).isEqualTo(2);
        assertThat(r.state()).isEqualTo(SyncReceiver.State.SYNCED);
    }

    @Test
    void afterTheActiveFallsSilentASessionEndsItsTimeoutAfterItWasLastHeard() {
        SyncReceiver r = synced(new SyncReceiver(100), 300 * S, up("udp", 120), up("tcp", 432_000));
        assertThat(r.expire(419 * S)).isZero();
        assertThat(r.expire(420 * S)).isEqualTo(1);
        assertThat(r.snapshot().keySet()).extracting(k -> new String(k.bytes(), StandardCharsets.UTF_8))
                .containsExactly("tcp");
        assertThat(r.state()).as("what ended may live on at the active: not a copy").isEqualTo(SyncReceiver.State.BULK_SYNC);
        assertThat(r.resume().complete()).as("the next connection asks for a bulk").isFalse();
        List<SyncMessage> replies = r.received(421 * S, new SyncMessage.Batch(EPOCH, 301, false, List.of()));
        assertThat(replies).containsExactly(new SyncMessage.Resume(EPOCH, 300, false));
    }

    @Test
    void aSessionEndingWhileTheActiveIsHeardDoesNotCostABulk() {
        // a timeout of 0 s: the entry was dying when it was sent; it ends, the copy stays complete
        SyncReceiver r = synced(new SyncReceiver(100), 10 * S, up("dying", 0), up("udp", 120));
        assertThat(r.expire(10 * S)).isEqualTo(1);
        assertThat(r.state()).isEqualTo(SyncReceiver.State.SYNCED);
    }

    @Test
    void directModeRefreshesAKernelEntryBeforeItsOwnTimeoutEndsIt() {
        SyncReceiver r = synced(SyncReceiver.direct(100), 100 * S, up("udp", 120), up("tcp", 432_000));
        r.takeKernelWrites(); // the bulk's creates at 0
        r.expire(79 * S);
        assertThat(r.takeKernelWrites()).as("41 s left of 120: not yet").isEmpty();
        r.expire(81 * S);
        List<KernelWrite> w = r.takeKernelWrites();
        assertThat(w).hasSize(1);
        assertThat(w.getFirst().kind()).isEqualTo(KernelWrite.Kind.UPDATE);
        assertThat(new String(w.getFirst().value(), StandardCharsets.UTF_8)).isEqualTo("udp=1");
        r.expire(100 * S);
        assertThat(r.takeKernelWrites()).as("its timeout started again at 81 s").isEmpty();
        assertThat(r.refreshed()).isEqualTo(1);
    }

    @Test
    void directModeRefreshesNothingOnceTheActiveIsSilent() {
        SyncReceiver r = synced(SyncReceiver.direct(100), 10 * S, up("udp", 120));
        r.takeKernelWrites();
        r.expire(100 * S);
        assertThat(r.takeKernelWrites()).as("the active may have ended it: let the kernel entry end").isEmpty();
    }

    @Test
    void directModeRefreshesAtMostTheGivenNumberASweepAndTheRestNext() {
        SyncReceiver r = synced(SyncReceiver.direct(100), 100 * S, up("a", 120), up("b", 120), up("c", 120));
        r.takeKernelWrites();
        List<Integer> perSweep = new ArrayList<>();
        for (long t = 91; t <= 95; t += 2) {
            r.expire(t * S, 2);
            perSweep.add(r.takeKernelWrites().size());
        }
        assertThat(perSweep).containsExactly(2, 1, 0);
    }

    @Test
    void theSenderSendsAnEmptyBatchOnAStreamIdleForASecond() {
        SyncSender s = new SyncSender(new SyncSender.Config(1, 60_000, 1_000_000L, 16, 0, 1000), EPOCH);
        assertThat(s.tick(5 * S)).as("no peer: nothing").isEmpty();
        SyncSenderLagTest.following(s, "fw2", 5 * S);
        assertThat(s.tick(5 * S + S / 2)).isEmpty();
        assertThat(s.nextDeadline()).isEqualTo(6 * S);
        assertThat(s.tick(6 * S)).containsExactly(
                new SyncSender.Out.Send("fw2", new SyncMessage.Batch(EPOCH, 1, false, List.of())));
        s.change(6 * S + S / 2, up("a", 60)); // a batch of its own (batches of one change)
        assertThat(s.tick(7 * S)).as("a batch went 0.5 s ago").isEmpty();
        assertThat(s.tick(7 * S + S / 2)).hasSize(1);
        s.disconnected(8 * S, "fw2");
        assertThat(s.tick(20 * S)).as("no peer follows the stream").isEmpty();
    }

    @Test
    void aFullCacheEvictsAShorterLivedSessionForALongerLivedOne() {
        SyncReceiver r = synced(new SyncReceiver(3), 0, up("est1", 432_000), up("timewait", 120), up("udp", 30));
        r.received(S, new SyncMessage.Batch(EPOCH, 1, false, List.of(up("est2", 432_000))));
        assertThat(keys(r)).as("the oldest short-lived one went").containsExactlyInAnyOrder("est1", "udp", "est2");
        r.received(2 * S, new SyncMessage.Batch(EPOCH, 2, false, List.of(up("udp2", 30))));
        assertThat(keys(r)).as("no shorter one for a 30 s newcomer: it is dropped").containsExactlyInAnyOrder("est1", "udp", "est2");
        r.received(3 * S, new SyncMessage.Batch(EPOCH, 3, false, List.of(up("est3", 432_000))));
        assertThat(keys(r)).containsExactlyInAnyOrder("est1", "est2", "est3");
        r.received(4 * S, new SyncMessage.Batch(EPOCH, 4, false, List.of(up("est4", 432_000))));
        assertThat(keys(r)).as("only long-lived ones left: the newcomer is dropped").containsExactlyInAnyOrder("est1", "est2", "est3");
        assertThat(r.evicted()).isEqualTo(2);
        assertThat(r.dropped()).isEqualTo(2);
    }

    @Test
    void aSessionThatBecomesShortLivedIsACandidateAndDirectModeDeletesTheEvictedFromTheKernel() {
        SyncReceiver r = synced(SyncReceiver.direct(2), 0, up("a", 432_000), up("b", 432_000));
        r.takeKernelWrites();
        r.received(S, new SyncMessage.Batch(EPOCH, 1, false, List.of(up("b", 120)))); // b closes: TIME_WAIT
        r.takeKernelWrites();
        r.received(2 * S, new SyncMessage.Batch(EPOCH, 2, false, List.of(up("c", 432_000))));
        assertThat(keys(r)).containsExactlyInAnyOrder("a", "c");
        assertThat(r.takeKernelWrites()).extracting(w -> w.kind() + ":" + new String(w.key(), StandardCharsets.UTF_8))
                .containsExactlyInAnyOrder("DELETE:b", "CREATE:c");
    }

    private static List<String> keys(SyncReceiver r) {
        return r.snapshot().keySet().stream().map(k -> new String(k.bytes(), StandardCharsets.UTF_8)).toList();
    }
}
