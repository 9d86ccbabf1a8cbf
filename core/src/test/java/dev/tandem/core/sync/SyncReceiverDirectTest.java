package dev.tandem.core.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.sync.SyncReceiver.KernelWrite;
import dev.tandem.core.sync.SyncReceiver.KernelWrite.Kind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Direct mode's kernel writes: what the receiver asks the node to write into its own kernel. */
class SyncReceiverDirectTest {
    private static final long EPOCH = 7;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static SessionChange up(String k, String v) {
        return SessionChange.upsert(b(k), b(v), 60);
    }

    private static SessionChange del(String k) {
        return SessionChange.delete(b(k));
    }

    /** kind:value of each write, in a map by value's key part (values are "key=state"). */
    private static Map<String, String> writes(SyncReceiver r) {
        Map<String, String> m = new HashMap<>();
        for (KernelWrite w : r.takeKernelWrites()) {
            String v = new String(w.value(), StandardCharsets.UTF_8);
            m.put(v.substring(0, v.indexOf('=')), w.kind() + ":" + v);
        }
        return m;
    }

    private static void bulk(SyncReceiver r, long epoch, long lastSeq, SessionChange... changes) {
        r.received(0, new SyncMessage.BulkBegin(epoch));
        r.received(0, new SyncMessage.Batch(epoch, 0, true, List.of(changes)));
        r.received(0, new SyncMessage.BulkEnd(epoch, lastSeq, changes.length));
    }

    private static List<SyncMessage> batch(SyncReceiver r, long seq, SessionChange... changes) {
        return r.received(0, new SyncMessage.Batch(EPOCH, seq, false, List.of(changes)));
    }

    @Test
    void cacheModeRecordsNothing() {
        SyncReceiver r = new SyncReceiver(100);
        bulk(r, EPOCH, 0, up("a", "a=1"));
        batch(r, 1, up("b", "b=1"), del("a"));
        assertThat(r.isDirect()).isFalse();
        assertThat(r.takeKernelWrites()).isEmpty();
        assertThat(r.size()).isEqualTo(1);
    }

    @Test
    void theFirstBulkCreatesEverySessionAsItsBatchesCome() {
        SyncReceiver r = SyncReceiver.direct(100);
        r.received(0, new SyncMessage.BulkBegin(EPOCH));
        r.received(0, new SyncMessage.Batch(EPOCH, 0, true, List.of(up("a", "a=1"), up("b", "b=1"))));
        assertThat(writes(r)).as("written with its batch, not all at the bulk's end")
                .isEqualTo(Map.of("a", "CREATE:a=1", "b", "CREATE:b=1"));
        r.received(0, new SyncMessage.Batch(EPOCH, 0, true, List.of(up("c", "c=1"))));
        assertThat(writes(r)).isEqualTo(Map.of("c", "CREATE:c=1"));
        r.received(0, new SyncMessage.BulkEnd(EPOCH, 0, 3));
        assertThat(r.takeKernelWrites()).as("nothing left to write at the end of the first bulk").isEmpty();
        assertThat(r.snapshot()).hasSize(3);
    }

    @Test
    void aSessionTheBulkWroteAndThenDeletedIsDeletedFromTheKernel() {
        SyncReceiver r = SyncReceiver.direct(100);
        r.received(0, new SyncMessage.BulkBegin(EPOCH));
        r.received(0, new SyncMessage.Batch(EPOCH, 0, true, List.of(up("a", "a=1"))));
        r.takeKernelWrites();
        r.received(0, new SyncMessage.Batch(EPOCH, 0, true, List.of(up("a", "a=2"), del("a"))));
        assertThat(writes(r)).isEqualTo(Map.of("a", "DELETE:a=2"));
        r.received(0, new SyncMessage.BulkEnd(EPOCH, 0, 0));
        assertThat(r.takeKernelWrites()).isEmpty();
        assertThat(r.snapshot()).isEmpty();
    }

    @Test
    void theStreamCreatesNewSessionsUpdatesKnownOnesAndDeletesWithTheValueWritten() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"), up("b", "b=1"));
        r.takeKernelWrites();
        assertThat(batch(r, 1, up("a", "a=2"), up("c", "c=1"), del("b"))).containsExactly(new SyncMessage.Ack(EPOCH, 1));
        assertThat(writes(r)).isEqualTo(Map.of("a", "UPDATE:a=2", "c", "CREATE:c=1", "b", "DELETE:b=1"));
    }

    @Test
    void aDestroyOfASessionNeverCachedWritesNothing() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"));
        r.takeKernelWrites();
        batch(r, 1, del("zz"));
        assertThat(r.takeKernelWrites()).isEmpty();
    }

    @Test
    void writesToTheSameSessionCoalesceToTheLatestAndACreateStaysACreate() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"));
        r.takeKernelWrites();
        batch(r, 1, up("n", "n=1"), up("n", "n=2"), up("a", "a=2"), up("a", "a=3"));
        assertThat(writes(r)).isEqualTo(Map.of("n", "CREATE:n=2", "a", "UPDATE:a=3"));
        batch(r, 2, up("m", "m=1"), del("m"), del("a"), up("a", "a=4"));
        assertThat(writes(r)).as("deleted then back: a create (the delete may not have reached the kernel)")
                .isEqualTo(Map.of("m", "DELETE:m=1", "a", "CREATE:a=4"));
    }

    @Test
    void aLaterBulkDeletesWhatItNoLongerHasAndUpdatesWhatWeWrote() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"), up("b", "b=1"));
        r.takeKernelWrites();
        bulk(r, EPOCH + 1, 5, up("b", "b=2"), up("c", "c=1"));
        assertThat(writes(r)).isEqualTo(Map.of("a", "DELETE:a=1", "b", "UPDATE:b=2", "c", "CREATE:c=1"));
        assertThat(r.snapshot()).hasSize(2);
    }

    @Test
    void whatAnAbortedBulkWroteIsDeletedByTheNextBulkThatNoLongerHasIt() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"));
        r.takeKernelWrites();
        r.received(0, new SyncMessage.BulkBegin(EPOCH + 1));
        r.received(0, new SyncMessage.Batch(EPOCH + 1, 0, true, List.of(up("x", "x=1"), up("y", "y=1"))));
        assertThat(writes(r)).isEqualTo(Map.of("x", "CREATE:x=1", "y", "CREATE:y=1"));
        // the connection breaks; the next bulk starts over
        r.received(0, new SyncMessage.BulkBegin(EPOCH + 2));
        r.received(0, new SyncMessage.Batch(EPOCH + 2, 0, true, List.of(up("a", "a=2"), up("y", "y=2"))));
        assertThat(writes(r)).as("a and y were written by us: updates")
                .isEqualTo(Map.of("a", "UPDATE:a=2", "y", "UPDATE:y=2"));
        r.received(0, new SyncMessage.BulkEnd(EPOCH + 2, 0, 2));
        assertThat(writes(r)).isEqualTo(Map.of("x", "DELETE:x=1"));
        assertThat(r.snapshot()).hasSize(2);
    }

    @Test
    void afterForgetKernelTheReceiverAsksForABulkAndCreatesEverySession() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"), up("b", "b=1"));
        r.takeKernelWrites();
        r.forgetKernel(); // this node was active: its entries for a and b have live TCP windows
        assertThat(r.state()).isEqualTo(SyncReceiver.State.BULK_SYNC);
        assertThat(r.resume()).isEqualTo(new SyncMessage.Resume(-1, 0, false));
        assertThat(batch(r, 1, up("a", "a=2"))).as("the stream is not applied: resume (bulk)")
                .containsExactly(new SyncMessage.Resume(-1, 0, false));
        assertThat(r.takeKernelWrites()).isEmpty();
        bulk(r, EPOCH + 1, 3, up("a", "a=3"), up("c", "c=1"));
        assertThat(writes(r)).isEqualTo(Map.of("a", "CREATE:a=3", "b", "DELETE:b=1", "c", "CREATE:c=1"));
        assertThat(r.state()).isEqualTo(SyncReceiver.State.SYNCED);
        r.received(0, new SyncMessage.Batch(EPOCH + 1, 4, false, List.of(up("a", "a=4"))));
        assertThat(writes(r)).isEqualTo(Map.of("a", "UPDATE:a=4"));
    }

    @Test
    void aFullCacheWritesNothingForTheSessionsItDrops() {
        SyncReceiver r = SyncReceiver.direct(2);
        bulk(r, EPOCH, 0, up("a", "a=1"), up("b", "b=1"), up("c", "c=1"));
        assertThat(r.takeKernelWrites()).hasSize(2);
        assertThat(r.dropped()).isEqualTo(1);
        batch(r, 1, up("d", "d=1"), up("a", "a=2"));
        assertThat(writes(r)).isEqualTo(Map.of("a", "UPDATE:a=2"));
    }

    @Test
    void expiryWritesNothingTheKernelEntryEndsByItself() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"));
        r.takeKernelWrites();
        assertThat(r.expire(61L * 1_000_000_000L)).isEqualTo(1);
        assertThat(r.takeKernelWrites()).isEmpty();
    }

    /** Whatever the sequence, replaying the writes onto a model kernel gives exactly the cache. */
    @Test
    void replayingTheWritesKeepsAModelKernelEqualToTheCache() {
        java.util.Random rnd = new java.util.Random(42);
        SyncReceiver r = SyncReceiver.direct(50);
        Map<String, String> kernel = new HashMap<>();
        long seq = 0;
        long epoch = EPOCH;
        for (int round = 0; round < 300; round++) {
            int what = rnd.nextInt(20);
            if (what == 0) {
                epoch++;
                List<SessionChange> table = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    if (rnd.nextBoolean()) {
                        table.add(up("k" + i, "k" + i + "=" + round));
                    }
                }
                seq = 0;
                bulk(r, epoch, seq, table.toArray(SessionChange[]::new));
            } else {
                List<SessionChange> l = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    String k = "k" + rnd.nextInt(60);
                    l.add(rnd.nextInt(3) == 0 ? del(k) : up(k, k + "=" + round + "." + i));
                }
                r.received(0, new SyncMessage.Batch(epoch, ++seq, false, l));
            }
            for (KernelWrite w : r.takeKernelWrites()) {
                String v = new String(w.value(), StandardCharsets.UTF_8);
                String k = v.substring(0, v.indexOf('='));
                switch (w.kind()) {
                    case CREATE -> kernel.put(k, v); // replaces a stale entry if there is one
                    case UPDATE -> assertThat(kernel.put(k, v)).as("an update of a session we wrote").isNotNull();
                    case DELETE -> kernel.remove(k);
                }
            }
            Map<String, String> cache = new HashMap<>();
            r.snapshot().forEach((k, v) -> cache.put(new String(k.bytes(), StandardCharsets.UTF_8),
                    new String(v, StandardCharsets.UTF_8)));
            if (r.state() == SyncReceiver.State.SYNCED) {
                assertThat(kernel).as("round " + round).isEqualTo(cache);
            }
        }
        assertThat(Kind.values()).hasSize(3);
    }
    @Test
    void aWriteTheKernelRefusedIsACreateNextAndIsRetriedBeforeRefreshes() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"), up("b", "b=1"), up("c", "c=1"));
        r.takeKernelWrites();
        batch(r, 1, up("a", "a=2"), up("b", "b=2"));
        assertThat(writes(r)).isEqualTo(Map.of("a", "UPDATE:a=2", "b", "UPDATE:b=2"));
        r.kernelRefused(List.of(b("a"), b("b"), b("unknown"))); // (a key the cache does not hold is ignored)
        assertThat(r.refusedByKernel()).isEqualTo(2);
        batch(r, 2, up("a", "a=3"));
        assertThat(writes(r)).as("the kernel holds no entry of ours for it: a CREATE, not an UPDATE")
                .isEqualTo(Map.of("a", "CREATE:a=3"));
        assertThat(r.refusedByKernel()).isEqualTo(1);
        r.expire(1_000_000, 1);
        assertThat(writes(r)).as("the sweep writes it again, within its bound, before any refresh")
                .isEqualTo(Map.of("b", "CREATE:b=2"));
        assertThat(r.refusedByKernel()).isZero();
    }

    @Test
    void beforeATakeoverEveryRefusedSessionStillCachedIsWrittenAndGoneOnesAreForgotten() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"), up("b", "b=1"), up("c", "c=1"));
        r.takeKernelWrites();
        r.kernelRefused(List.of(b("a"), b("b"), b("c")));
        batch(r, 1, del("b"));
        assertThat(writes(r)).isEqualTo(Map.of("b", "DELETE:b=1"));
        assertThat(r.retryRefused(Integer.MAX_VALUE)).isEqualTo(2);
        assertThat(writes(r)).isEqualTo(Map.of("a", "CREATE:a=1", "c", "CREATE:c=1"));
        assertThat(r.refusedByKernel()).isZero();
        r.kernelRefused(List.of(b("a")));
        r.forgetKernel();
        assertThat(r.refusedByKernel()).as("the next bulk creates every session anyway").isZero();
    }

    @Test
    void aBulkForgetsRefusedSessionsItNoLongerHas() {
        SyncReceiver r = SyncReceiver.direct(100);
        bulk(r, EPOCH, 0, up("a", "a=1"), up("b", "b=1"));
        r.takeKernelWrites();
        r.kernelRefused(List.of(b("a"), b("b")));
        bulk(r, EPOCH + 1, 0, up("b", "b=2"));
        assertThat(writes(r)).as("the bulk's own write of b is a CREATE; a is deleted (harmless: ENOENT)")
                .isEqualTo(Map.of("a", "DELETE:a=1", "b", "CREATE:b=2"));
        assertThat(r.refusedByKernel()).isZero();
    }
}
