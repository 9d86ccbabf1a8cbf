package dev.tandem.core.sync;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A passive node's side of session sync: the external cache of the active's sessions. Applies
 * batches in order; a gap or an unknown stream makes it ask the sender to resume (resend or bulk).
 * Pure: time comes with every call.
 *
 * <p>A session stays while the active is heard ({@link #HOLD_NANOS}; the sender's keepalive batches
 * keep an idle stream heard), however long ago it last changed: the active's kernel refreshes a
 * session's timeout with every packet and says nothing about it (no conntrack event), so a long-lived
 * UDP flow or a TCP connection older than its state's timeout is still live there. The stream's
 * destroys end sessions; a lost destroy is caught by the resync that follows any loss. Once the
 * active is silent, a session ends its own timeout after the later of its last change and the last
 * time the active was heard; expiring one while silent means the cache is no longer a copy of the
 * table, so the next message asks for a bulk.
 *
 * <p>In direct mode ({@link #direct(int)}) it also records what the node must write into its own
 * kernel so that the kernel holds what the cache holds: every applied change as a {@link KernelWrite},
 * taken by the owner with {@link #takeKernelWrites(int)} whenever its writer is free (changes of one
 * session meanwhile fold into its latest write, so a session created and ended in between costs one
 * delete that finds nothing). A bulk's sessions are
 * written as its batches come, not all at its end (a million at the end took the lab 10.5 s, which a
 * takeover meanwhile waited for); its end deletes what it no longer has. Only sessions that came
 * through the sync are ever written or deleted: a delete is recorded only for a key the cache held
 * (a destroy from the active, or a session absent from a completed bulk), never for anything else in
 * the kernel. The kernel entry has its own timeout: while the active is heard, {@link #expire} records
 * an update for a session whose kernel entry would end within {@link #REFRESH_AHEAD_NANOS} (or a third
 * of its timeout), which starts its timeout again. Expiry records nothing: by then the kernel entry,
 * no longer refreshed, has ended by itself. A write the kernel refused (its table full: ENOMEM) is
 * reported back with {@link #kernelRefused}: the session is then not in the kernel, so its next write is
 * a CREATE, {@link #expire} retries it, and {@link #retryRefused} before a takeover writes every one
 * still cached; until then {@link #refusedByKernel} counts them.
 */
public final class SyncReceiver {
    private static final long NS = 1_000_000_000L;
    /** Sessions with a timeout up to this are candidates for eviction when the cache is full. */
    static final int SHORT_LIVED_SECONDS = 300;
    /** Candidates looked at for one eviction (the rest wait for the next). */
    static final int EVICTION_TRIES = 64;
    /** The active counts as heard this long after its last message (5 of the sender's keepalives). */
    public static final long HOLD_NANOS = 5 * NS;
    /** Direct mode: a kernel entry ending within this (or a third of its timeout) is refreshed. */
    public static final long REFRESH_AHEAD_NANOS = 30 * NS;

    /** SYNCED: a bulk completed and the stream follows; BULK_SYNC: not (yet) a complete copy. */
    public enum State { BULK_SYNC, SYNCED }

    /** changedAt: its last change; kernelAt (direct mode): when its kernel entry's timeout last started. */
    private record Cached(byte[] value, long changedAt, int timeoutSeconds, long kernelAt) {
        long timeoutNanos() {
            return timeoutSeconds * NS;
        }
    }

    /**
     * A write into the node's kernel (direct mode). CREATE: a session the kernel does not hold from us
     * (an entry already there for the flow is stale, e.g. with TCP windows of a time this node
     * forwarded it, and must be replaced); UPDATE: one we wrote before (absent: it ended in the kernel,
     * create it again); DELETE: one we wrote before, value being what we wrote. key: the session's key.
     */
    public record KernelWrite(Kind kind, byte[] key, byte[] value) {
        public enum Kind { CREATE, UPDATE, DELETE }
    }

    private final int maxEntries;
    private final boolean direct;
    // direct mode: the latest write per key not taken yet, oldest first; keys are sessions of the cache (or
    // of the bulk under way) or ones deleted from it whose delete is not written yet (bounded by those: the
    // owner's writer takes them as fast as its kernel does, and the node holds the stream back past a bound)
    private Map<SessionKey, KernelWrite> kernelWrites = new LinkedHashMap<>();
    // direct mode: the kernel may hold entries for the cached flows that we did not write (start, or
    // this node forwarded them while active): the next bulk writes every session as a CREATE
    private boolean kernelUnknown = true;
    // direct mode: cached sessions whose last kernel write was refused (not in the kernel from us), oldest
    // first; bounded by the cache's size (a key leaves when it is written again or leaves the cache)
    private final java.util.LinkedHashSet<SessionKey> refused = new java.util.LinkedHashSet<>();
    private Map<SessionKey, Cached> cache = new HashMap<>();
    private Map<SessionKey, Cached> staging;
    private long epoch = -1;
    private long lastSeq;
    private boolean complete;
    private long dropped;
    private long applied;
    private long gaps;
    private long refreshed;
    private long evicted;
    // keys of sessions that became short-lived (added so, or changed to a short timeout), oldest first; may
    // hold keys since gone or changed (checked when used), bounded by the cache's size: eviction candidates
    private final java.util.ArrayDeque<SessionKey> shortLived = new java.util.ArrayDeque<>();
    // changes applied a second, over the last whole second of calls
    private long rateAt = Long.MIN_VALUE;
    private long rateBase;
    private long appliedPerSecond;
    private long heardAt = Long.MIN_VALUE; // the last in-order message of a complete stream

    public SyncReceiver(int maxEntries) {
        this(maxEntries, false);
    }

    private SyncReceiver(int maxEntries, boolean direct) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("cache size must be positive");
        }
        this.maxEntries = maxEntries;
        this.direct = direct;
    }

    /** A receiver that also records the kernel writes of direct mode. */
    public static SyncReceiver direct(int maxEntries) {
        return new SyncReceiver(maxEntries, true);
    }

    public boolean isDirect() {
        return direct;
    }

    /**
     * Direct mode: the kernel's copy of the synced sessions can no longer be trusted (this node was
     * active and forwarded them: their entries have live TCP windows). Drops the stream's position so
     * that the next message asks for a bulk, whose sessions are then all written as CREATE.
     */
    public void forgetKernel() {
        kernelUnknown = true;
        refused.clear(); // the next bulk writes every session as a CREATE
        // creates and updates not written yet are the next bulk's to write (as CREATEs); deletes are still due: the
        // sessions are gone from the cache, and nothing else would remove the entries written for them
        kernelWrites.values().removeIf(w -> w.kind() != KernelWrite.Kind.DELETE);
        complete = false;
        epoch = -1;
        lastSeq = 0;
        foldAbortedBulk();
        staging = null;
    }

    /** Direct mode: the kernel writes recorded since the last call (one per session, the latest). */
    public List<KernelWrite> takeKernelWrites() {
        return takeKernelWrites(Integer.MAX_VALUE);
    }

    /**
     * Direct mode: up to max of the kernel writes not taken yet (one per session, the latest), the
     * longest waiting first; the owner writes them in the order taken, one call's before the next's.
     */
    public List<KernelWrite> takeKernelWrites(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be positive");
        }
        if (kernelWrites.isEmpty()) {
            return List.of();
        }
        if (kernelWrites.size() <= max) {
            List<KernelWrite> l = new ArrayList<>(kernelWrites.values());
            // a new map, not clear(): clear() walks the whole table, which a bulk grew to its size
            kernelWrites = new LinkedHashMap<>();
            return l;
        }
        List<KernelWrite> l = new ArrayList<>(max);
        for (Iterator<KernelWrite> it = kernelWrites.values().iterator(); it.hasNext() && l.size() < max; ) {
            l.add(it.next());
            it.remove();
        }
        return l;
    }

    /**
     * Direct mode: the kernel refused these writes (CREATE or UPDATE, by key): those sessions are not in
     * the kernel from us. Each still cached is written again as a CREATE: at its next change, by
     * {@link #expire} (with the refreshes' bound) or by {@link #retryRefused} before a takeover.
     */
    public void kernelRefused(java.util.Collection<byte[]> keys) {
        if (!direct) {
            return;
        }
        for (byte[] key : keys) {
            SessionKey k = new SessionKey(key);
            KernelWrite next = kernelWrites.get(k);
            if (next != null) {
                // written again meanwhile (the writes were under way): that write must create it
                if (next.kind() == KernelWrite.Kind.UPDATE) {
                    kernelWrites.put(k, new KernelWrite(KernelWrite.Kind.CREATE, next.key(), next.value()));
                }
                continue;
            }
            if (cache.containsKey(k) || (staging != null && staging.containsKey(k))) {
                refused.add(k);
            }
        }
        assert refused.size() <= 2L * maxEntries : "refused keys beyond the cache and a bulk";
    }

    /**
     * Direct mode: records a CREATE for up to max cached sessions the kernel refused before (the takeover
     * asks for all of them: the kernel must hold the table before the addresses move). Returns how many.
     */
    public int retryRefused(int max) {
        int n = 0;
        for (Iterator<SessionKey> it = refused.iterator(); it.hasNext() && n < max; ) {
            SessionKey k = it.next();
            Cached c = cache.get(k);
            if (c == null && staging != null) {
                c = staging.get(k);
            }
            it.remove();
            if (c != null) {
                kernelWrites.put(k, new KernelWrite(KernelWrite.Kind.CREATE, k.bytes(), c.value()));
                n++;
            }
        }
        return n;
    }

    /** Direct mode: cached sessions not in the kernel because it refused their last write (until retried). */
    public int refusedByKernel() {
        return refused.size();
    }

    /** Direct mode: kernel writes not taken yet. */
    public int pendingKernelWrites() {
        return kernelWrites.size();
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
        updateRate(now);
        List<SyncMessage> replies = new ArrayList<>(1);
        switch (m) {
            case SyncMessage.BulkBegin b -> {
                foldAbortedBulk();
                staging = new HashMap<>();
            }
            case SyncMessage.Batch b when b.bulk() -> {
                if (staging != null) {
                    for (SessionChange c : b.changes()) {
                        if (!direct) {
                            apply(staging, now, c, false);
                            continue;
                        }
                        SessionKey k = new SessionKey(c.key());
                        Cached written = staging.get(k); // written by this bulk already
                        if (apply(staging, now, c, false)) {
                            if (!c.isDelete()) {
                                boolean ours = (!kernelUnknown && cache.containsKey(k)) || written != null;
                                record(k, ours ? KernelWrite.Kind.UPDATE : KernelWrite.Kind.CREATE, c.value());
                            } else if (written != null && !cache.containsKey(k)) {
                                record(k, KernelWrite.Kind.DELETE, written.value()); // (the cache's: at the end)
                            }
                        }
                    }
                }
            }
            case SyncMessage.BulkEnd e -> {
                if (staging != null) {
                    if (direct) {
                        recordBulkEnd(cache, staging);
                    }
                    cache = staging;
                    staging = null;
                    if (!refused.isEmpty()) {
                        refused.removeIf(k -> !cache.containsKey(k)); // (those the bulk no longer has)
                    }
                    epoch = e.epoch();
                    lastSeq = e.lastSeq();
                    complete = true;
                    heardAt = now;
                    replies.add(new SyncMessage.Ack(epoch, lastSeq));
                }
            }
            case SyncMessage.Batch b -> {
                if (!complete || b.epoch() != epoch || b.seq() <= lastSeq) {
                    if (complete && b.epoch() == epoch) {
                        heardAt = now;
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
                    apply(cache, now, c, direct);
                }
                lastSeq = b.seq();
                heardAt = now; // (an empty batch is the sender's keepalive)
                replies.add(new SyncMessage.Ack(epoch, lastSeq));
            }
            default -> { }
        }
        return replies;
    }

    /** Applies one change to m; false: dropped (m is full). */
    private boolean apply(Map<SessionKey, Cached> m, long now, SessionChange c, boolean record) {
        SessionKey k = new SessionKey(c.key());
        if (c.isDelete()) {
            Cached old = m.remove(k);
            if (record && old != null) {
                record(k, KernelWrite.Kind.DELETE, old.value());
            }
            applied++;
            return true;
        }
        Cached old = m.get(k);
        if (m.size() >= maxEntries && old == null && !evictShorterLived(m, c.timeoutSeconds())) {
            dropped++; // bounded: a table larger than the cache loses its newest sessions, counted
            return false;
        }
        m.put(k, new Cached(c.value(), now, c.timeoutSeconds(), now));
        if (c.timeoutSeconds() <= SHORT_LIVED_SECONDS && (old == null || old.timeoutSeconds > SHORT_LIVED_SECONDS)) {
            // (once when it becomes short-lived, not at every change: a key object each)
            if (shortLived.size() >= maxEntries) {
                shortLived.pollFirst(); // bounded: the oldest candidate goes
            }
            shortLived.addLast(k);
            assert shortLived.size() <= maxEntries;
        }
        if (record) {
            record(k, old == null || kernelUnknown ? KernelWrite.Kind.CREATE : KernelWrite.Kind.UPDATE, c.value());
        }
        applied++;
        return true;
    }

    /**
     * A full map makes room for a session whose timeout is timeoutSeconds by evicting one with a shorter
     * timeout (a TIME_WAIT, an unanswered UDP flow, a half-open TCP: nearer their end, or of less worth at
     * a takeover than an established connection), looked for among the short-lived sessions, oldest first,
     * at most {@link #EVICTION_TRIES}. False: none found (the newcomer is dropped).
     */
    private boolean evictShorterLived(Map<SessionKey, Cached> m, int timeoutSeconds) {
        for (int i = 0; i < EVICTION_TRIES && !shortLived.isEmpty(); i++) {
            SessionKey k = shortLived.pollFirst();
            Cached c = m.get(k);
            if (c == null || c.timeoutSeconds > SHORT_LIVED_SECONDS) {
                continue; // gone, or lives longer now (added again when it becomes short-lived again)
            }
            if (c.timeoutSeconds >= timeoutSeconds) {
                shortLived.addLast(k); // not shorter than the newcomer: a candidate for a longer-lived one
                continue;
            }
            m.remove(k);
            evicted++;
            if (direct) {
                record(k, KernelWrite.Kind.DELETE, c.value()); // the kernel holds what the cache holds
            }
            return true;
        }
        return false;
    }

    /** A completed bulk replaces old; its sessions were written as they came: delete what it no longer has. */
    private void recordBulkEnd(Map<SessionKey, Cached> old, Map<SessionKey, Cached> bulk) {
        for (Map.Entry<SessionKey, Cached> e : old.entrySet()) {
            if (!bulk.containsKey(e.getKey())) {
                record(e.getKey(), KernelWrite.Kind.DELETE, e.getValue().value());
            }
        }
        kernelUnknown = false;
    }

    /**
     * Direct mode: a bulk that stopped half-way (a new one begins, or this node was active) wrote its
     * sessions into the kernel already. They join the cache, which is what the kernel holds from us,
     * so that the next completed bulk deletes those it no longer has (bounded by the cache's size:
     * one that does not fit is left to its own timeout in the kernel, counted as dropped).
     */
    private void foldAbortedBulk() {
        if (!direct || staging == null) {
            return;
        }
        for (Map.Entry<SessionKey, Cached> e : staging.entrySet()) {
            if (cache.size() >= maxEntries && !cache.containsKey(e.getKey())) {
                dropped++;
                continue;
            }
            cache.put(e.getKey(), e.getValue());
        }
        staging = null;
    }

    /**
     * Keeps the latest write per session; an UPDATE after a CREATE not yet done stays a CREATE, and so does
     * one of a session whose last write the kernel refused (it holds no entry of ours for it).
     */
    private void record(SessionKey k, KernelWrite.Kind kind, byte[] value) {
        KernelWrite prev = kernelWrites.get(k);
        if (prev != null && prev.kind() != KernelWrite.Kind.UPDATE && kind == KernelWrite.Kind.UPDATE) {
            kind = KernelWrite.Kind.CREATE;
        }
        if (!refused.isEmpty() && refused.remove(k) && kind == KernelWrite.Kind.UPDATE) {
            kind = KernelWrite.Kind.CREATE;
        }
        kernelWrites.put(k, new KernelWrite(kind, k.bytes(), value));
    }

    /**
     * Forgets sessions whose own timeout passed since the later of their last change and the last time
     * the active was heard; in direct mode, while it is heard, refreshes kernel entries about to end.
     * Call it every few seconds (the node: every 2 s in direct mode). At most maxRefresh refreshes a
     * call (the owner writes them while holding back the stream): those beyond wait for the next call,
     * well inside their margin. Returns how many sessions were forgotten.
     */
    public int expire(long now, int maxRefresh) {
        if (maxRefresh < 0) {
            throw new IllegalArgumentException("maxRefresh must not be negative");
        }
        updateRate(now);
        // sessions missing from the kernel first: a refresh has a margin, a missing session breaks at a takeover
        int refreshes = direct && !kernelUnknown ? retryRefused(maxRefresh) : 0;
        boolean heard = heardAt != Long.MIN_VALUE && now - heardAt <= HOLD_NANOS;
        int n = 0;
        for (Iterator<Map.Entry<SessionKey, Cached>> it = cache.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<SessionKey, Cached> e = it.next();
            Cached c = e.getValue();
            long since = heardAt == Long.MIN_VALUE ? c.changedAt : Math.max(c.changedAt, heardAt);
            if (now - since >= c.timeoutNanos()) {
                it.remove();
                n++;
                continue;
            }
            if (direct && heard && !kernelUnknown && refreshes < maxRefresh
                    && c.kernelAt + c.timeoutNanos() - now < Math.max(REFRESH_AHEAD_NANOS, c.timeoutNanos() / 3)) {
                refreshes++;
                record(e.getKey(), KernelWrite.Kind.UPDATE, c.value());
                e.setValue(new Cached(c.value(), c.changedAt, c.timeoutSeconds, now));
                refreshed++;
            }
        }
        if (n > 0 && !heard && complete) {
            // the active may still hold what ended here (refreshed there without an event): not a copy any more
            complete = false;
        }
        return n;
    }

    /** {@link #expire(long, int)} without a bound on the refreshes. */
    public int expire(long now) {
        return expire(now, Integer.MAX_VALUE);
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

    private void updateRate(long now) {
        if (rateAt == Long.MIN_VALUE) {
            rateAt = now;
            rateBase = applied;
        } else if (now - rateAt >= NS) {
            appliedPerSecond = (applied - rateBase) * NS / (now - rateAt);
            rateAt = now;
            rateBase = applied;
        }
    }

    /** Changes applied a second, measured over the last whole second between calls (0 before that). */
    public long appliedPerSecond() {
        return appliedPerSecond;
    }

    /** Sessions evicted from a full cache for a longer-lived one, so far. */
    public long evicted() {
        return evicted;
    }

    /** Direct mode: kernel entries refreshed by {@link #expire} so far. */
    public long refreshed() {
        return refreshed;
    }

    public long lastSeq() {
        return lastSeq;
    }
}
