package dev.tandem.core.sync;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The active node's side of session sync: turns the stream of table changes into numbered batches
 * for every peer, keeps the last batches to resend after a reconnect, and asks for a full-table
 * transfer (bulk) when a peer joins, cannot be caught up, or falls too far behind. Pure: time comes
 * with every call; outputs are returned.
 *
 * <p>One stream (epoch) for all peers; batch numbers start at 1. A bulk for one peer does not
 * interrupt the others: it is sent whole, then that peer continues with the stream after the batch
 * that was current when its dump was taken.
 */
public final class SyncSender {
    private static final long NS = 1_000_000_000L;
    /**
     * A stream with nothing to send for this long gets an empty batch: the receivers' sign that the
     * active is there and its table unchanged, which keeps their copies from expiring (SyncReceiver).
     */
    public static final long KEEPALIVE_NANOS = NS;

    /**
     * @param batchMaxChanges a batch is sent when it has this many changes
     * @param batchMaxBytes or this many bytes
     * @param flushDelayNanos or when its first change is this old
     * @param retainBatches batches kept for resending (and how far a peer may fall behind)
     * @param maxChangesPerSecond throttle (0: none); a backlog beyond maxPending means a bulk for everyone
     * @param maxPending changes waiting to be batched
     * @param retainBytes the batches kept for resending also hold at most this many bytes of changes
     *     (the newest batch always stays): the window is what a reconnect can catch up without a bulk,
     *     and at a high change rate 4096 full batches were millions of live objects for the GC to trace
     */
    public record Config(int batchMaxChanges, int batchMaxBytes, long flushDelayNanos, int retainBatches,
                         long maxChangesPerSecond, int maxPending, long retainBytes) {
        public Config {
            if (batchMaxChanges < 1 || batchMaxBytes < 64 || flushDelayNanos < 0 || retainBatches < 1 || maxPending < 1
                    || maxChangesPerSecond < 0 || retainBytes < 1) {
                throw new IllegalArgumentException("session sync sender config out of range");
            }
        }

        /** Without a byte bound on the resend window (retainBatches alone bounds it). */
        public Config(int batchMaxChanges, int batchMaxBytes, long flushDelayNanos, int retainBatches,
                      long maxChangesPerSecond, int maxPending) {
            this(batchMaxChanges, batchMaxBytes, flushDelayNanos, retainBatches, maxChangesPerSecond, maxPending, Long.MAX_VALUE);
        }

        public static Config defaults() {
            return new Config(512, 60_000, 1_000_000L, 4096, 0, 1_000_000);
        }
    }

    /** What the caller must do. */
    public sealed interface Out {
        record Send(String peer, SyncMessage message) implements Out {}

        /** Dump the whole table and hand it to {@link #bulk}. */
        record Dump(String peer) implements Out {}

        record Disconnect(String peer, String why) implements Out {}

        record Note(String text) implements Out {}
    }

    /** Figures for one peer (`tandem status`). */
    public record PeerStats(String peer, boolean connected, boolean inBulk, long entriesSent, long entriesPerSecond,
                            long batchesAcked,
                            long queueBatches, long lagNanos, long resends, long lastBulkAt, long lastBulkEntries,
                            Lag lag) {}

    /**
     * Send-to-ack time of the last {@link #LAG_SAMPLES} batches acked by a peer (each batch counted once,
     * also when one ack covers several); -1 when none. samples: how many the percentiles cover.
     */
    public record Lag(long p50Nanos, long p99Nanos, long maxNanos, int samples) {}

    /** Batches whose send-to-ack time is kept per peer for the lag percentiles. */
    public static final int LAG_SAMPLES = 10_000;

    private static final class Peer {
        final String name;
        boolean connected;
        boolean awaitingResume;
        boolean dumping;
        long ackedSeq;
        long sentSeq;
        long entriesSent;
        long resends;
        long lagNanos;
        long lastBulkAt = Long.MIN_VALUE;
        long lastBulkEntries;
        // entries sent a second, over the last whole second of ticks
        long rateAt = Long.MIN_VALUE;
        long rateBase;
        long perSecond;
        final LagSamples lags = new LagSamples(LAG_SAMPLES);

        Peer(String name) {
            this.name = name;
        }
    }

    private final Config config;
    private final long epoch;
    private final Map<String, Peer> peers = new LinkedHashMap<>();
    private final ArrayDeque<SyncMessage.Batch> retained = new ArrayDeque<>();
    private final long[] sentAt; // send time of batch seq at index seq % retainBatches
    private final int[] batchBytes; // bytes of batch seq's changes at index seq % retainBatches
    private long retainedBytes;
    private final List<SessionChange> pending = new ArrayList<>();
    private int pendingBytes;
    private long firstPendingAt = Long.MIN_VALUE;
    private long lastBatchAt = Long.MIN_VALUE;
    private long seq;
    private double tokens;
    private long lastRefill = Long.MIN_VALUE;
    private List<Out> out = new ArrayList<>();

    /** epoch: unique per sender run (e.g. the start time in ms), so a receiver never confuses two runs. */
    public SyncSender(Config config, long epoch) {
        this.config = config;
        this.epoch = epoch;
        this.sentAt = new long[config.retainBatches()];
        this.batchBytes = new int[config.retainBatches()];
    }

    public long epoch() {
        return epoch;
    }

    public long seq() {
        return seq;
    }

    /** A change of the table. */
    public List<Out> change(long now, SessionChange c) {
        if (pending.size() >= config.maxPending()) {
            // too far behind to batch everything: drop the backlog, everyone gets the table again
            pending.clear();
            pendingBytes = 0;
            firstPendingAt = Long.MIN_VALUE;
            out.add(new Out.Note("session sync backlog over " + config.maxPending() + " changes: bulk resync"));
            for (Peer p : peers.values()) {
                if (p.connected) {
                    startBulk(p);
                }
            }
        }
        if (pending.isEmpty()) {
            firstPendingAt = now;
        }
        pending.add(c);
        pendingBytes += c.size();
        if (pending.size() >= config.batchMaxChanges() || pendingBytes >= config.batchMaxBytes()) {
            flush(now);
        }
        return drain();
    }

    /** Time passed: send a batch whose first change waited long enough, or a keepalive. */
    public List<Out> tick(long now) {
        for (Peer p : peers.values()) {
            if (p.rateAt == Long.MIN_VALUE) {
                p.rateAt = now;
                p.rateBase = p.entriesSent;
            } else if (now - p.rateAt >= NS) {
                p.perSecond = (p.entriesSent - p.rateBase) * NS / (now - p.rateAt);
                p.rateAt = now;
                p.rateBase = p.entriesSent;
            }
        }
        if (!pending.isEmpty() && now - firstPendingAt >= config.flushDelayNanos()) {
            flush(now);
        } else if (pending.isEmpty() && lastBatchAt != Long.MIN_VALUE && now - lastBatchAt >= KEEPALIVE_NANOS
                && streaming()) {
            emit(now); // empty
        }
        return drain();
    }

    /** When {@link #tick} should run next (Long.MAX_VALUE: nothing waits). */
    public long nextDeadline() {
        if (!pending.isEmpty()) {
            return firstPendingAt + config.flushDelayNanos();
        }
        return streaming() && lastBatchAt != Long.MIN_VALUE ? lastBatchAt + KEEPALIVE_NANOS : Long.MAX_VALUE;
    }

    /** Some peer follows the stream (connected, resumed, not in a bulk). */
    private boolean streaming() {
        for (Peer p : peers.values()) {
            if (p.connected && !p.awaitingResume && !p.dumping) {
                return true;
            }
        }
        return false;
    }

    private boolean throttled(long now) {
        if (config.maxChangesPerSecond() == 0) {
            return false;
        }
        if (lastRefill == Long.MIN_VALUE) {
            lastRefill = now;
            tokens = config.maxChangesPerSecond();
        }
        tokens = Math.min(config.maxChangesPerSecond(), tokens + (now - lastRefill) * (double) config.maxChangesPerSecond() / NS);
        lastRefill = now;
        return tokens < pending.size() && tokens < config.batchMaxChanges();
    }

    private void flush(long now) {
        if (pending.isEmpty() || throttled(now)) {
            return;
        }
        tokens -= pending.size();
        emit(now);
    }

    /** The pending changes (none: a keepalive) as the stream's next batch, to every peer following it. */
    private void emit(long now) {
        lastBatchAt = now;
        SyncMessage.Batch b = new SyncMessage.Batch(epoch, ++seq, false, pending);
        int bytes = pendingBytes;
        pending.clear();
        pendingBytes = 0;
        firstPendingAt = Long.MIN_VALUE;
        retained.addLast(b);
        sentAt[(int) (seq % sentAt.length)] = now;
        batchBytes[(int) (seq % batchBytes.length)] = bytes;
        retainedBytes += bytes;
        while (retained.size() > config.retainBatches()
                || retainedBytes > config.retainBytes() && retained.size() > 1) {
            retainedBytes -= batchBytes[(int) (retained.removeFirst().seq() % batchBytes.length)];
        }
        for (Peer p : peers.values()) {
            if (!p.connected || p.awaitingResume || p.dumping) {
                continue; // it gets this batch after its resume or bulk
            }
            if (seq - p.ackedSeq > config.retainBatches()) {
                p.connected = false;
                out.add(new Out.Disconnect(p.name, "fell " + (seq - p.ackedSeq) + " batches behind"));
                continue;
            }
            send(p, b);
        }
        assert retained.isEmpty() || retained.getLast().seq() == seq;
    }

    private void send(Peer p, SyncMessage.Batch b) {
        out.add(new Out.Send(p.name, b));
        p.sentSeq = b.seq();
        p.entriesSent += b.changes().size();
    }

    /** A connection to peer is up: wait for its Resume. */
    public List<Out> connected(long now, String peer) {
        Peer p = peers.computeIfAbsent(peer, Peer::new);
        if (lastBatchAt == Long.MIN_VALUE) {
            lastBatchAt = now; // the keepalive's clock starts with the first peer
        }
        p.connected = true;
        p.awaitingResume = true;
        p.dumping = false;
        return drain();
    }

    public List<Out> disconnected(long now, String peer) {
        Peer p = peers.get(peer);
        if (p != null) {
            p.connected = false;
            p.dumping = false;
        }
        return drain();
    }

    /** A message from a peer (Resume or Ack). */
    public List<Out> received(long now, String peer, SyncMessage m) {
        Peer p = peers.get(peer);
        if (p == null || !p.connected) {
            return drain();
        }
        switch (m) {
            case SyncMessage.Resume r -> resume(p, r);
            case SyncMessage.Ack a -> {
                if (a.epoch() == epoch && a.seq() > p.ackedSeq && a.seq() <= seq) {
                    long oldest = Math.max(1, seq - sentAt.length + 1); // the batches whose send time is kept
                    // every batch this ack covers that was sent as part of the stream (not a bulk's catch-up)
                    for (long s = Math.max(p.ackedSeq + 1, oldest); s <= a.seq(); s++) {
                        p.lags.add(Math.max(0, now - sentAt[(int) (s % sentAt.length)]));
                    }
                    p.ackedSeq = a.seq();
                    if (a.seq() >= oldest) {
                        p.lagNanos = now - sentAt[(int) (a.seq() % sentAt.length)];
                    }
                }
            }
            default -> out.add(new Out.Note("session sync: unexpected " + m.getClass().getSimpleName() + " from " + peer));
        }
        return drain();
    }

    private void resume(Peer p, SyncMessage.Resume r) {
        p.awaitingResume = false;
        long oldest = retained.isEmpty() ? seq + 1 : retained.getFirst().seq();
        boolean canResend = r.complete() && r.epoch() == epoch && r.seq() <= seq && r.seq() + 1 >= oldest;
        if (!canResend) {
            startBulk(p);
            return;
        }
        p.ackedSeq = r.seq();
        for (SyncMessage.Batch b : retained) {
            if (b.seq() > r.seq()) {
                send(p, b);
                p.resends++;
            }
        }
    }

    private void startBulk(Peer p) {
        p.dumping = true;
        out.add(new Out.Dump(p.name));
    }

    /**
     * The table, dumped for peer after a {@link Out.Dump}: sent as a bulk transfer, then the batches
     * since. The dump must be taken after this call's preceding outputs (pending changes are flushed
     * first, so everything later than the dump is in batches after it).
     */
    public List<Out> bulk(long now, String peer, List<SessionChange> table) {
        Peer p = peers.get(peer);
        if (p == null || !p.connected || !p.dumping) {
            return drain();
        }
        if (!pending.isEmpty()) {
            tokens = Double.MAX_VALUE; // the bulk needs the stream flushed up to now
            flush(now);
        }
        p.dumping = false;
        long at = seq;
        out.add(new Out.Send(peer, new SyncMessage.BulkBegin(epoch)));
        List<SessionChange> chunk = new ArrayList<>();
        int bytes = 0;
        for (SessionChange c : table) {
            chunk.add(c);
            bytes += c.size();
            if (chunk.size() >= config.batchMaxChanges() || bytes >= config.batchMaxBytes()) {
                out.add(new Out.Send(peer, new SyncMessage.Batch(epoch, 0, true, chunk)));
                chunk = new ArrayList<>();
                bytes = 0;
            }
        }
        if (!chunk.isEmpty()) {
            out.add(new Out.Send(peer, new SyncMessage.Batch(epoch, 0, true, chunk)));
        }
        out.add(new Out.Send(peer, new SyncMessage.BulkEnd(epoch, at, table.size())));
        p.entriesSent += table.size();
        p.lastBulkAt = now;
        p.lastBulkEntries = table.size();
        p.ackedSeq = at;
        p.sentSeq = at;
        out.add(new Out.Note("session sync: bulk of " + table.size() + " sessions to " + peer));
        return drain();
    }

    public List<PeerStats> stats() {
        List<PeerStats> l = new ArrayList<>();
        for (Peer p : peers.values()) {
            l.add(new PeerStats(p.name, p.connected, p.dumping || p.awaitingResume, p.entriesSent, p.perSecond, p.ackedSeq,
                    Math.max(0, seq - p.ackedSeq), p.lagNanos, p.resends, p.lastBulkAt, p.lastBulkEntries, lag(p)));
        }
        return l;
    }

    private static Lag lag(Peer p) {
        long[] q = p.lags.percentiles(50, 99, 100);
        return new Lag(q[0], q[1], q[2], p.lags.size());
    }

    public int pendingChanges() {
        return pending.size();
    }

    private List<Out> drain() {
        if (out.isEmpty()) {
            return List.of(); // the common case (a change that fills no batch): no garbage
        }
        List<Out> r = out;
        out = new ArrayList<>();
        return r;
    }
}
