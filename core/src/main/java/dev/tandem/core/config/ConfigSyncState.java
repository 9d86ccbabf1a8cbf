package dev.tandem.core.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeMap;

/**
 * Configuration sync for one node (pure: time comes with every call, effects are returned).
 *
 * <p>On the <b>primary</b> it owns the authoritative version: {@link #commit} makes a new one,
 * and for each peer it answers the peer's reported version with an {@link ConfigSyncMessage.Offer}:
 * incremental when the peer's version is one it remembers, complete when the versions diverge
 * (unknown version, same counter with another hash, or a peer ahead), after an incremental one
 * failed, or on {@link #forceSync}. A peer ahead of the primary (split brain, old primary) makes
 * the primary re-issue its own content under a counter above the peer's, so that nobody's version
 * ever goes back.
 *
 * <p>On a <b>receiver</b> it decides what to do with an offer: apply a delta whose base is its
 * version, ask for a complete sync if not, apply a complete bundle, refuse anything that would
 * take its version back. Applying is the node's job ({@link Effect.Apply}); the node reports the
 * outcome with {@link #applied} or {@link #applyFailed}, and the previous configuration stays
 * untouched on failure (the state only moves on {@code applied}).
 *
 * <p>Invariant, checked on every change: the local version never goes back
 * ({@link ConfigVersion#requireForward}); a rollback is a new version with old content.
 */
public final class ConfigSyncState {

    public enum Status { IN_SYNC, SYNCING, OUT_OF_SYNC }

    /** What the node must do. */
    public sealed interface Effect {
        record Send(String peer, ConfigSyncMessage message) implements Effect {}

        /**
         * Validate and apply {@code bundle} atomically (nftables check, files, reload commands), then
         * call {@link #applied} or {@link #applyFailed} with {@code version}. {@code touched} lists the
         * items that differ from the running configuration.
         */
        record Apply(String from, ConfigVersion version, ConfigBundle bundle, SortedSet<String> touched,
                boolean complete) implements Effect {}
    }

    /** What this node knows about a peer (primary side) or about itself (receiver side). */
    public record SyncView(ConfigVersion version, Status status, String reason) {}

    private record Versioned(ConfigVersion version, ConfigBundle bundle) {}

    private record Pending(String from, ConfigVersion version, ConfigBundle bundle) {}

    private static final class Peer {
        ConfigVersion reported;
        Status status = Status.SYNCING;
        String reason = "";
        ConfigVersion offered;
        long offeredAt;
        boolean offeredDelta;
        boolean needFull;
        ConfigVersion failed; // a complete offer of this version failed: wait for a commit or forceSync
    }

    private final int remember;
    private final long retryNanos;
    private final TreeMap<Long, Versioned> recent = new TreeMap<>();
    private final Map<String, Peer> peers = new TreeMap<>();
    private ConfigVersion version;
    private ConfigBundle bundle;
    private boolean primary;
    // receiver side
    private Pending pending;
    private ConfigVersion primaryVersion;
    private ConfigVersion failedVersion;
    private String failedReason = "";

    /**
     * @param version what this node runs (from its history; {@link ConfigVersion#initial()} when new)
     * @param remember how many versions to keep in memory for incremental offers (at least 1)
     * @param retryNanos how long an offer may stay unanswered before the primary sends it again
     */
    public ConfigSyncState(ConfigVersion version, ConfigBundle bundle, int remember, long retryNanos) {
        if (!version.hash().equals(bundle.hash())) {
            throw new IllegalArgumentException("bundle does not have the hash of version " + version);
        }
        if (remember < 1 || retryNanos <= 0) {
            throw new IllegalArgumentException("remember >= 1 and retryNanos > 0");
        }
        this.remember = remember;
        this.retryNanos = retryNanos;
        this.version = version;
        this.bundle = bundle;
        keep(version, bundle);
    }

    public ConfigVersion version() {
        return version;
    }

    public ConfigBundle bundle() {
        return bundle;
    }

    public boolean isPrimary() {
        return primary;
    }

    /** Seeds the in-memory history (e.g. from the on-disk history at start) so older peers get deltas. */
    public void remember(ConfigVersion v, ConfigBundle b) {
        if (!v.hash().equals(b.hash())) {
            throw new IllegalArgumentException("bundle does not have the hash of version " + v);
        }
        if (v.counter() <= version.counter()) {
            keep(v, b);
        }
    }

    private void keep(ConfigVersion v, ConfigBundle b) {
        recent.put(v.counter(), new Versioned(v, b));
        while (recent.size() > remember) {
            recent.pollFirstEntry();
        }
    }

    private void moveTo(ConfigVersion v, ConfigBundle b) {
        ConfigVersion.requireForward(version, v, false);
        if (!v.hash().equals(b.hash())) {
            throw new IllegalStateException("bundle does not have the hash of version " + v);
        }
        version = v;
        bundle = b;
        keep(v, b);
    }

    // ---------------------------------------------------------------- roles

    /** This node now holds the authoritative configuration. Peers report their versions again. */
    public void becomePrimary() {
        primary = true;
        pending = null;
        primaryVersion = null;
        failedVersion = null;
        failedReason = "";
        peers.clear();
    }

    /** This node now follows a primary. An apply in progress is still reported through {@link #applied}. */
    public void becomeReceiver() {
        primary = false;
        peers.clear();
        primaryVersion = null;
    }

    /** The first message to send to a peer on every (re)connect, and the version to put in hellos. */
    public ConfigSyncMessage.Status status() {
        return new ConfigSyncMessage.Status(version);
    }

    /** A peer's channel went down: forget what it had (it reports again on reconnect). */
    public void peerLost(String peer) {
        peers.remove(peer);
    }

    // ---------------------------------------------------------------- primary

    /**
     * A new configuration made on this (primary) node. Returns the offers to send; the new version
     * is {@link #version()} (unchanged if the content is the same: no change, no new version).
     */
    public List<Effect> commit(long now, ConfigBundle next) {
        requirePrimary("commit");
        if (next.hash().equals(bundle.hash())) {
            return List.of();
        }
        moveTo(version.next(next), next);
        for (Peer p : peers.values()) {
            p.failed = null;
            p.needFull = false;
        }
        return offerAll(now, true);
    }

    /**
     * Rollback to an earlier version's content: a new version (counter + 1) with that content, so
     * that versions still only move forward on every node.
     */
    public List<Effect> rollback(long now, ConfigVersion to, ConfigBundle content) {
        requirePrimary("rollback");
        if (!to.hash().equals(content.hash())) {
            throw new IllegalArgumentException("rollback content does not have the hash of " + to);
        }
        if (to.counter() > version.counter()) {
            throw new IllegalArgumentException("cannot roll back to " + to + ": it is newer than " + version);
        }
        return commit(now, content);
    }

    /** Complete sync to every peer, on demand (also clears a failed state). */
    public List<Effect> forceSync(long now) {
        requirePrimary("force sync");
        for (Peer p : peers.values()) {
            p.needFull = true;
            p.failed = null;
        }
        return offerAll(now, true);
    }

    /** Resends offers that were not answered within the retry interval. */
    public List<Effect> tick(long now) {
        return primary ? offerAll(now, false) : List.of();
    }

    /** The primary's view of a peer, or null if it has not reported yet. */
    public SyncView peer(String peer) {
        Peer p = peers.get(peer);
        return p == null ? null : new SyncView(p.reported, p.status, p.reason);
    }

    public Map<String, SyncView> peers() {
        Map<String, SyncView> out = new TreeMap<>();
        peers.forEach((k, p) -> out.put(k, new SyncView(p.reported, p.status, p.reason)));
        return Collections.unmodifiableMap(out);
    }

    private void requirePrimary(String what) {
        if (!primary) {
            throw new IllegalStateException(what + " is only possible on the primary");
        }
    }

    private List<Effect> offerAll(long now, boolean force) {
        List<Effect> out = new ArrayList<>();
        for (String id : List.copyOf(peers.keySet())) {
            offer(now, id, force, out);
        }
        return out;
    }

    private void offer(long now, String id, boolean force, List<Effect> out) {
        Peer p = peers.get(id);
        if (p == null || p.reported == null) {
            return;
        }
        if (p.reported.equals(version)) {
            p.status = Status.IN_SYNC;
            p.reason = "";
            p.offered = null;
            p.needFull = false;
            p.failed = null;
            return;
        }
        if (version.equals(p.failed)) {
            return; // stays OUT_OF_SYNC with its reason until a commit or forceSync
        }
        if (!force && version.equals(p.offered) && now - p.offeredAt < retryNanos) {
            return; // in flight
        }
        if (p.reported.counter() >= version.counter()) {
            // the peer is ahead or beside us with other content: re-issue ours above it
            ConfigVersion bumped = new ConfigVersion(p.reported.counter() + 1, bundle.hash());
            moveTo(bumped, bundle);
            p.needFull = true;
            // every other peer must hear of the new counter too (an empty delta for those in sync)
            for (String other : peers.keySet()) {
                if (!other.equals(id)) {
                    offer(now, other, true, out);
                }
            }
        }
        Versioned base = recent.get(p.reported.counter());
        ConfigSyncMessage.Offer o;
        if (!p.needFull && base != null && base.version().equals(p.reported)) {
            o = ConfigSyncMessage.Offer.incremental(ConfigDelta.between(base.version(), base.bundle(), version, bundle));
        } else {
            o = ConfigSyncMessage.Offer.complete(version, bundle);
        }
        p.offered = version;
        p.offeredAt = now;
        p.offeredDelta = o.isIncremental();
        if (p.status != Status.OUT_OF_SYNC) {
            p.status = Status.SYNCING;
        }
        out.add(new Effect.Send(id, o));
    }

    private Peer peerOf(String id) {
        return peers.computeIfAbsent(id, k -> new Peer());
    }

    // ---------------------------------------------------------------- messages

    /** A message from {@code from}; returns what to do. */
    public List<Effect> received(long now, String from, ConfigSyncMessage m) {
        Objects.requireNonNull(from);
        return primary ? primaryReceived(now, from, m) : receiverReceived(from, m);
    }

    private List<Effect> primaryReceived(long now, String from, ConfigSyncMessage m) {
        List<Effect> out = new ArrayList<>();
        Peer p = peerOf(from);
        switch (m) {
            case ConfigSyncMessage.Status s -> {
                p.reported = s.version();
                offer(now, from, !version.equals(p.offered), out);
            }
            case ConfigSyncMessage.Ack a -> {
                p.reported = a.version();
                offer(now, from, true, out);
            }
            case ConfigSyncMessage.RequestFull r -> {
                p.reported = r.have();
                p.needFull = true;
                p.reason = r.reason();
                offer(now, from, true, out);
            }
            case ConfigSyncMessage.Nack n -> {
                p.reported = n.kept();
                if (!n.offered().equals(version) || n.kept().counter() >= version.counter()) {
                    offer(now, from, true, out); // an older offer, or the peer is ahead: send the current one
                } else if (p.offeredDelta && !p.needFull) {
                    p.needFull = true; // an incremental sync failed: try a complete one
                    p.reason = n.reason();
                    offer(now, from, true, out);
                } else {
                    p.failed = version;
                    p.status = Status.OUT_OF_SYNC;
                    p.reason = n.reason();
                }
            }
            case ConfigSyncMessage.Offer o -> {
                // two primaries (split brain): the HA layer resolves who steps down; answering would ping-pong
            }
        }
        return out;
    }

    private List<Effect> receiverReceived(String from, ConfigSyncMessage m) {
        List<Effect> out = new ArrayList<>();
        switch (m) {
            case ConfigSyncMessage.Status s -> {
                primaryVersion = s.version();
                if (!s.version().equals(version) && pending == null) {
                    out.add(new Effect.Send(from, status())); // drift seen in a hello: ask for an offer
                }
            }
            case ConfigSyncMessage.Offer o -> onOffer(from, o, out);
            default -> {
                // Ack, Nack, RequestFull are for the primary
            }
        }
        return out;
    }

    private void onOffer(String from, ConfigSyncMessage.Offer o, List<Effect> out) {
        primaryVersion = o.version();
        if (pending != null) {
            return; // one apply at a time; the primary offers again after our answer
        }
        if (o.version().equals(version)) {
            failedVersion = null;
            out.add(new Effect.Send(from, new ConfigSyncMessage.Ack(version)));
            return;
        }
        try {
            ConfigVersion.requireForward(version, o.version(), false);
        } catch (IllegalStateException e) {
            fail(from, o.version(), e.getMessage(), out);
            return;
        }
        ConfigBundle target;
        if (o.isIncremental()) {
            if (!o.delta().base().equals(version)) {
                out.add(new Effect.Send(from, new ConfigSyncMessage.RequestFull(version,
                        "delta is from " + o.delta().base() + ", this node has " + version)));
                return;
            }
            try {
                target = o.delta().apply(bundle);
            } catch (ConfigException e) {
                out.add(new Effect.Send(from, new ConfigSyncMessage.RequestFull(version, e.getMessage())));
                return;
            }
        } else {
            target = o.full();
            if (!target.hash().equals(o.version().hash())) {
                out.add(new Effect.Send(from, new ConfigSyncMessage.RequestFull(version,
                        "complete offer " + o.version() + " arrived with hash " + target.hash().substring(0, 12))));
                return;
            }
        }
        pending = new Pending(from, o.version(), target);
        out.add(new Effect.Apply(from, o.version(), target, touched(bundle, target), !o.isIncremental()));
    }

    private static SortedSet<String> touched(ConfigBundle from, ConfigBundle to) {
        return ConfigDelta.between(new ConfigVersion(0, from.hash()), from, new ConfigVersion(0, to.hash()), to).touched();
    }

    /** The node applied the pending {@link Effect.Apply} for {@code v}: the local version moves to it. */
    public List<Effect> applied(ConfigVersion v) {
        Pending p = requirePending(v);
        pending = null;
        moveTo(p.version(), p.bundle());
        failedVersion = null;
        failedReason = "";
        return List.of(new Effect.Send(p.from(), new ConfigSyncMessage.Ack(version)));
    }

    /** The node could not apply {@code v} and kept its previous configuration; {@code reason} names the file or rule. */
    public List<Effect> applyFailed(ConfigVersion v, String reason) {
        Pending p = requirePending(v);
        pending = null;
        List<Effect> out = new ArrayList<>();
        fail(p.from(), v, reason, out);
        return out;
    }

    private void fail(String from, ConfigVersion offered, String reason, List<Effect> out) {
        failedVersion = offered;
        failedReason = reason;
        out.add(new Effect.Send(from, new ConfigSyncMessage.Nack(offered, version, reason)));
    }

    private Pending requirePending(ConfigVersion v) {
        if (pending == null || !pending.version().equals(v)) {
            throw new IllegalStateException("no apply of " + v + " is pending" + (pending == null ? ""
                    : " (pending: " + pending.version() + ")"));
        }
        return pending;
    }

    /** True while an {@link Effect.Apply} awaits its outcome. */
    public boolean applying() {
        return pending != null;
    }

    /**
     * This node's sync state as a receiver: SYNCING while applying or while the primary's version
     * differs, OUT_OF_SYNC (with the reason) if the primary's current version failed here, IN_SYNC
     * when this node runs the primary's version. A primary is always IN_SYNC with itself.
     */
    public SyncView self() {
        if (primary) {
            return new SyncView(version, Status.IN_SYNC, "");
        }
        if (pending != null) {
            return new SyncView(version, Status.SYNCING, "applying " + pending.version());
        }
        if (primaryVersion != null && primaryVersion.equals(failedVersion)) {
            return new SyncView(version, Status.OUT_OF_SYNC, failedReason);
        }
        if (version.equals(primaryVersion)) {
            return new SyncView(version, Status.IN_SYNC, "");
        }
        return new SyncView(version, Status.SYNCING, primaryVersion == null ? "primary's version not known yet"
                : "primary has " + primaryVersion);
    }
}
