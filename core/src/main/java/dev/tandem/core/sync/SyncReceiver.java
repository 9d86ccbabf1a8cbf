package dev.tandem.core.sync;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A passive node's side of session sync: the external cache of the active's sessions, each kept
 * until its own timeout unless refreshed. Applies batches in order; a gap or an unknown stream
 * makes it ask the sender to resume (resend or bulk). Pure: time comes with every call.
 */
public final class SyncReceiver {
    private static final long NS = 1_000_000_000L;

    /** SYNCED: a bulk completed and the stream follows; BULK_SYNC: not (yet) a complete copy. */
    public enum State { BULK_SYNC, SYNCED }

    private record Cached(byte[] value, long expiresAt) {}

    private final int maxEntries;
    private Map<SessionKey, Cached> cache = new HashMap<>();
    private Map<SessionKey, Cached> staging;
    private long epoch = -1;
    private long lastSeq;
    private boolean complete;
    private long dropped;
    private long applied;
    private long gaps;

    public SyncReceiver(int maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("cache size must be positive");
        }
        this.maxEntries = maxEntries;
    }

    public State state() {
        return complete ? State.SYNCED : State.BULK_SYNC;
    }

    /** The first message on every (re)connect. */
    public SyncMessage.Resume resume() {
        return new SyncMessage.Resume(epoch, lastSeq, complete);
    }

    /** A message from the sender; returns the replies (Ack, or Resume after a gap). */
    public List<SyncMessage> received(long now, SyncMessage m) {
        List<SyncMessage> replies = new ArrayList<>(1);
        switch (m) {
            case SyncMessage.BulkBegin b -> staging = new HashMap<>();
            case SyncMessage.Batch b when b.bulk() -> {
                if (staging != null) {
                    for (SessionChange c : b.changes()) {
                        apply(staging, now, c);
                    }
                }
            }
            case SyncMessage.BulkEnd e -> {
                if (staging != null) {
                    cache = staging;
                    staging = null;
                    epoch = e.epoch();
                    lastSeq = e.lastSeq();
                    complete = true;
                    replies.add(new SyncMessage.Ack(epoch, lastSeq));
                }
            }
            case SyncMessage.Batch b -> {
                if (!complete || b.epoch() != epoch || b.seq() <= lastSeq) {
                    if (complete && b.epoch() == epoch) {
                        break; // a batch we already have (resent)
                    }
                    if (!complete && staging != null) {
                        break; // a bulk is under way: the stream resumes after it
                    }
                    gaps++;
                    replies.add(resume());
                    break;
                }
                if (b.seq() != lastSeq + 1) {
                    gaps++;
                    replies.add(resume()); // a batch went missing: resend from what we have
                    break;
                }
                for (SessionChange c : b.changes()) {
                    apply(cache, now, c);
                }
                lastSeq = b.seq();
                replies.add(new SyncMessage.Ack(epoch, lastSeq));
            }
            default -> { }
        }
        return replies;
    }

    private void apply(Map<SessionKey, Cached> m, long now, SessionChange c) {
        SessionKey k = new SessionKey(c.key());
        if (c.isDelete()) {
            m.remove(k);
            applied++;
            return;
        }
        if (m.size() >= maxEntries && !m.containsKey(k)) {
            dropped++; // bounded: a table larger than the cache loses its newest sessions, counted
            return;
        }
        m.put(k, new Cached(c.value(), now + c.timeoutSeconds() * NS));
        applied++;
    }

    /** Forgets sessions whose own timeout passed without a refresh; returns how many. */
    public int expire(long now) {
        int n = 0;
        for (Iterator<Cached> it = cache.values().iterator(); it.hasNext(); ) {
            if (it.next().expiresAt <= now) {
                it.remove();
                n++;
            }
        }
        return n;
    }

    /** What to commit into the kernel on takeover. */
    public List<byte[]> sessions() {
        List<byte[]> l = new ArrayList<>(cache.size());
        for (Cached c : cache.values()) {
            l.add(c.value());
        }
        return l;
    }

    /** key → value of every cached session (tests compare it with the sender's table). */
    public Map<SessionKey, byte[]> snapshot() {
        Map<SessionKey, byte[]> m = new HashMap<>();
        cache.forEach((k, v) -> m.put(k, v.value()));
        return m;
    }

    public int size() {
        return cache.size();
    }

    public long dropped() {
        return dropped;
    }

    public long applied() {
        return applied;
    }

    public long gaps() {
        return gaps;
    }

    public long lastSeq() {
        return lastSeq;
    }
}
