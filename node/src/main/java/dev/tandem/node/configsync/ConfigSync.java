package dev.tandem.node.configsync;

import dev.tandem.core.config.ConfigBundle;
import dev.tandem.core.config.ConfigDelta;
import dev.tandem.core.config.ConfigException;
import dev.tandem.core.config.ConfigSyncMessage;
import dev.tandem.core.config.ConfigSyncState;
import dev.tandem.core.config.ConfigVersion;
import dev.tandem.linux.Nftables;
import dev.tandem.node.config.ClusterSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Configuration sync for one node, on its own platform thread (nftables and reload commands take
 * time; the HA loop never waits for them). The primary (role: primary) reads its ruleset and
 * declared files into a bundle, records versions in the history and offers them to every peer; a
 * peer validates, applies and acknowledges, or keeps its previous configuration and says why.
 */
public final class ConfigSync implements AutoCloseable {
    public static final String KEEP_PREFIX = "tandem_";
    private static final long RETRY_NANOS = 3_000_000_000L;

    /** How messages reach a peer (the channel), and where events go. */
    public interface Transport {
        boolean send(String peer, String message);
    }

    public interface Events {
        void record(String kind, String text);
    }

    /** A request the node refuses (e.g. a write on a non-primary); the message says why. */
    public static final class Refused extends Exception {
        public Refused(String m) {
            super(m);
        }
    }

    private final String node;
    private final boolean primary;
    private final String primaryName;
    private final ClusterSettings.ConfigSyncConfig cfg;
    private final Path historyDir;
    private final Transport transport;
    private final Events events;
    private final ManagedFiles files = new ManagedFiles(Duration.ofSeconds(30));
    private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private ConfigHistory history;
    private ConfigSyncState state;
    private Thread thread;
    private volatile boolean open = true;
    private volatile String helloVersion = "0";
    private volatile String statusJson = "{\"state\":\"SYNCING\",\"version\":0}";
    /** The node's cluster file (the shared part is the `tandem` item), or null when not managed. */
    private final Path clusterFile;
    /** The shared part the daemon runs with (read at start): what a synced change is compared with. */
    private String runningShared = "";
    private volatile java.util.Set<String> restartPending = java.util.Set.of();

    public ConfigSync(String node, String primaryName, ClusterSettings.ConfigSyncConfig cfg, Path historyDir,
                      Transport transport, Events events) {
        this(node, primaryName, cfg, historyDir, null, transport, events);
    }

    public ConfigSync(String node, String primaryName, ClusterSettings.ConfigSyncConfig cfg, Path historyDir,
                      Path clusterFile, Transport transport, Events events) {
        this.clusterFile = clusterFile;
        this.node = node;
        this.primaryName = primaryName;
        this.primary = node.equals(primaryName);
        this.cfg = cfg;
        this.historyDir = historyDir;
        this.transport = transport;
        this.events = events;
    }

    public void start() throws IOException {
        if (clusterFile != null) {
            try {
                runningShared = ClusterFileParts.split(Files.readString(clusterFile, StandardCharsets.UTF_8)).shared();
            } catch (ClusterFileParts.Unsplittable e) {
                events.record("ERROR", node + " config sync: the cluster file " + clusterFile
                        + " cannot be split into its shared part and nodes: (" + e.getMessage() + ")");
            }
        }
        history = ConfigHistory.open(historyDir, 50, w -> events.record("WARNING", node + " config history: " + w));
        var latest = history.latest();
        ConfigVersion v = latest.map(ConfigHistory.Entry::version).orElse(ConfigVersion.initial());
        ConfigBundle b = latest.map(ConfigHistory.Entry::bundle).orElse(ConfigBundle.empty());
        state = new ConfigSyncState(v, b, 20, RETRY_NANOS);
        for (ConfigVersion old : history.versions()) {
            history.get(old.counter()).ifPresent(e -> state.remember(e.version(), e.bundle()));
        }
        if (primary) {
            state.becomePrimary();
        } else {
            state.becomeReceiver();
        }
        thread = Thread.ofPlatform().name("config-sync-" + node).daemon(true).start(this::run);
        tasks.add(primary ? this::commitAtStart : this::reapplyAtStart);
    }

    private void run() {
        while (open) {
            try {
                Runnable r = tasks.poll(500, TimeUnit.MILLISECONDS);
                if (r != null) {
                    r.run();
                }
                effects(state.tick(System.nanoTime()));
                publish();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                events.record("ERROR", node + " config sync: " + e);
            }
        }
    }

    private <T> T call(Callable<T> c) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                f.complete(c.call());
            } catch (Exception e) {
                f.completeExceptionally(e);
            }
        });
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    // ---------------------------------------------------------------- inputs (any thread)

    public void peerConnected(String peer) {
        tasks.add(() -> send(peer, state.status()));
    }

    public void peerLost(String peer) {
        tasks.add(() -> state.peerLost(peer));
    }

    /** A peer's hello carried "counter hash": treated as its status. */
    public void helloVersion(String peer, String field) {
        String[] w = field.split(" ");
        if (w.length != 2) {
            return;
        }
        ConfigVersion v;
        try {
            v = new ConfigVersion(Long.parseLong(w[0]), w[1]);
        } catch (IllegalArgumentException e) {
            return;
        }
        tasks.add(() -> effects(state.received(System.nanoTime(), peer, new ConfigSyncMessage.Status(v))));
    }

    public void received(String peer, String text) {
        ConfigSyncMessage m;
        try {
            m = SyncMessageCodec.decode(text);
        } catch (ConfigException e) {
            events.record("WARNING", node + " config sync: refused a message from " + peer + ": " + e.getMessage());
            return;
        }
        tasks.add(() -> effects(state.received(System.nanoTime(), peer, m)));
    }

    /** "counter hash" for the hellos. */
    public String helloField() {
        return helloVersion;
    }

    /** The "config_sync" object of the status JSON. */
    public String statusJson() {
        return statusJson;
    }

    // ---------------------------------------------------------------- operator requests

    private void requirePrimary(String what) throws Refused {
        if (!primary) {
            throw new Refused(node + " is not the configuration primary: " + what + " on " + primaryName
                    + " (role: primary), it syncs to the other nodes");
        }
    }

    /** Re-reads the ruleset and declared files, validates, records a new version and syncs. */
    public String commit(String who) throws Exception {
        requirePrimary("commit");
        return call(() -> commitNow(who, null));
    }

    /** Installs {@code text} as the ruleset file (if valid), then commits. */
    public String apply(String text, String who) throws Exception {
        requirePrimary("apply");
        if (cfg.ruleset() == null) {
            throw new Refused("no ruleset is declared (cluster.config_sync.ruleset)");
        }
        return call(() -> commitNow(who, text));
    }

    public String rollback(long counter, String who) throws Exception {
        requirePrimary("rollback");
        return call(() -> {
            ConfigHistory.Entry e = history.get(counter).orElseThrow(() -> new Refused("version " + counter
                    + " is not in the history (" + history.versions() + ")"));
            ConfigBundle old = e.bundle();
            String nft = old.managesNftables() ? old.nftables() : null;
            if (nft != null) {
                String err = Nftables.checkReplace(nft, KEEP_PREFIX);
                if (err != null) {
                    throw new Refused("version " + counter + "'s ruleset does not load here: " + err);
                }
            }
            String clusterText = clusterFile != null && old.tandem() != null ? mergedClusterFile(old) : null;
            ManagedFiles.Applied applied = files.apply(old);
            try {
                if (nft != null) {
                    Nftables.replace(nft, KEEP_PREFIX);
                    AtomicFiles.write(Path.of(cfg.ruleset()), nft.getBytes(StandardCharsets.UTF_8), null);
                }
                if (clusterText != null) {
                    AtomicFiles.write(clusterFile, clusterText.getBytes(StandardCharsets.UTF_8), null);
                }
            } catch (RuntimeException | IOException x) {
                applied.undo();
                throw new Refused("rollback to " + counter + " failed: " + x.getMessage());
            }
            ConfigVersion before = state.version();
            effects(state.rollback(System.nanoTime(), e.version(), old));
            record();
            noteRestart(state.version(), old);
            String msg = "config rolled back to the content of version " + counter + " by " + who + ": now "
                    + state.version() + " (was " + before + ")";
            events.record("INFO", node + " " + msg);
            return msg;
        });
    }

    public String forceSync(String who) throws Exception {
        requirePrimary("sync config");
        return call(() -> {
            effects(state.forceSync(System.nanoTime()));
            events.record("INFO", node + " complete config sync of " + state.version() + " to every peer, asked by " + who);
            return "complete sync of " + state.version() + " sent to " + state.peers().keySet();
        });
    }

    public String history() throws Exception {
        return call(() -> {
            StringBuilder sb = new StringBuilder();
            for (ConfigVersion v : history.versions()) {
                sb.append(v.counter()).append(' ').append(v.hash()).append(v.equals(state.version()) ? "  (current)" : "")
                        .append('\n');
            }
            return sb.isEmpty() ? "no versions recorded\n" : sb.toString();
        });
    }

    public String diff(long a, long b) throws Exception {
        return call(() -> {
            ConfigDelta d;
            try {
                d = history.diff(a, b);
            } catch (RuntimeException e) {
                throw new Refused(e.getMessage());
            }
            ConfigBundle from = history.get(a).orElseThrow().bundle();
            StringBuilder sb = new StringBuilder("diff " + d.base() + " -> " + d.target() + "\n");
            for (String item : d.touched()) {
                String x = from.item(item).map(ConfigBundle.Item::content).orElse("");
                String y = history.get(b).orElseThrow().bundle().item(item).map(ConfigBundle.Item::content).orElse("");
                sb.append("--- ").append(item).append('\n');
                sb.append(LineDiff.unified(x, y));
            }
            return sb.toString();
        });
    }

    // ---------------------------------------------------------------- on the sync thread

    private ConfigBundle readBundle(String rulesetOverride) throws Refused {
        ConfigBundle b = ConfigBundle.empty();
        if (cfg.ruleset() != null) {
            String text = rulesetOverride;
            if (text == null) {
                try {
                    text = Files.readString(Path.of(cfg.ruleset()), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new Refused("cannot read the ruleset " + cfg.ruleset() + ": " + e.getMessage());
                }
            }
            b = b.withNftables(text);
        }
        if (clusterFile != null) {
            b = b.withTandem(sharedPartOfOwnFile());
        }
        for (ClusterSettings.ManagedFile f : cfg.files()) {
            try {
                b = b.withFile(f.path(), Files.readString(Path.of(f.path()), StandardCharsets.UTF_8), f.reloadLine());
            } catch (IOException e) {
                throw new Refused("cannot read file:" + f.path() + ": " + e.getMessage());
            }
        }
        return b;
    }

    /** The primary's shared part, refused unless the whole file loads (the peers would refuse it anyway). */
    private String sharedPartOfOwnFile() throws Refused {
        String text;
        try {
            text = Files.readString(clusterFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Refused("cannot read the cluster file " + clusterFile + ": " + e.getMessage());
        }
        var loaded = dev.tandem.node.config.ConfigLoader.parse(text, clusterFile.toString());
        if (!loaded.errors().isEmpty()) {
            throw new Refused("the cluster file " + clusterFile + " does not load: " + errors(loaded.errors()));
        }
        try {
            return ClusterFileParts.split(text).shared();
        } catch (ClusterFileParts.Unsplittable e) {
            throw new Refused("the cluster file " + clusterFile + " cannot be synced: " + e.getMessage());
        }
    }

    private static String errors(List<dev.tandem.node.config.ConfigError> errs) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < errs.size() && i < 5; i++) {
            sb.append(i == 0 ? "" : "; ").append(errs.get(i));
        }
        return errs.size() > 5 ? sb + "; and " + (errs.size() - 5) + " more" : sb.toString();
    }

    /** The shared part of a synced version against the one the daemon runs: what waits for a restart. */
    private void noteRestart(ConfigVersion v, ConfigBundle b) {
        if (clusterFile == null || b.tandem() == null) {
            return;
        }
        java.util.Set<String> changed = ClusterFileParts.changedSections(runningShared, b.tandem());
        if (!changed.equals(restartPending) && !changed.isEmpty()) {
            events.record("WARNING", node + ": the Tandem config of " + v + " changes " + changed + " in " + clusterFile
                    + "; the daemon runs the values it started with until " + node + " restarts");
        }
        restartPending = java.util.Set.copyOf(changed);
    }

    /**
     * A peer's cluster file with the synced shared part: validated as a whole (merged with this node's
     * own nodes: block) before anything is touched. Returns the new text, or null if the file already
     * has it. Throws with the reason naming the field.
     */
    private String mergedClusterFile(ConfigBundle b) throws Refused {
        String current;
        try {
            current = Files.readString(clusterFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Refused("tandem: cannot read " + clusterFile + ": " + e.getMessage());
        }
        ClusterFileParts.Parts own;
        try {
            own = ClusterFileParts.split(current);
        } catch (ClusterFileParts.Unsplittable e) {
            throw new Refused("tandem: this node's " + clusterFile + " cannot be split: " + e.getMessage());
        }
        String merged = ClusterFileParts.merge(b.tandem(), own.nodes());
        var loaded = dev.tandem.node.config.ConfigLoader.parse(merged, clusterFile.toString());
        if (!loaded.errors().isEmpty()) {
            throw new Refused("tandem: the shared config with " + node + "'s nodes: does not load: "
                    + errors(loaded.errors()));
        }
        if (!loaded.config().nodes().containsKey(node)) {
            throw new Refused("tandem: " + node + " is not in nodes: of the merged config");
        }
        return merged.equals(current) ? null : merged;
    }

    private String commitNow(String who, String rulesetText) throws Refused, IOException {
        long t0 = System.nanoTime();
        ConfigBundle next = readBundle(rulesetText);
        long t1 = System.nanoTime();
        if (next.hash().equals(state.bundle().hash())) {
            return "no change: " + state.version() + "\n";
        }
        if (next.managesNftables()) {
            // one transaction: nft validates and applies it whole, or changes nothing (no separate dry run)
            try {
                Nftables.replace(next.nftables(), KEEP_PREFIX);
            } catch (RuntimeException e) {
                events.record("ERROR", node + " config commit by " + who + " refused: the ruleset does not load: "
                        + e.getMessage());
                throw new Refused("the ruleset does not load, nothing changed:\n" + e.getMessage());
            }
            if (rulesetText != null) {
                AtomicFiles.write(Path.of(cfg.ruleset()), rulesetText.getBytes(StandardCharsets.UTF_8), null);
            }
        }
        long t2 = System.nanoTime();
        ConfigVersion before = state.version();
        effects(state.commit(System.nanoTime(), next));
        long t3 = System.nanoTime();
        record();
        noteRestart(state.version(), next);
        long t4 = System.nanoTime();
        String msg = "config " + state.version() + " committed by " + who + " (was " + before + "; read "
                + (t1 - t0) / 1_000_000 + " ms, nftables " + (t2 - t1) / 1_000_000 + " ms, offered "
                + (t3 - t2) / 1_000_000 + " ms, recorded " + (t4 - t3) / 1_000_000 + " ms)";
        events.record("INFO", node + " " + msg);
        return msg + "\n";
    }

    private void commitAtStart() {
        try {
            ConfigBundle next = readBundle(null);
            String err = next.managesNftables() ? Nftables.checkReplace(next.nftables(), KEEP_PREFIX) : null;
            if (err != null) {
                events.record("ERROR", node + " config sync: the ruleset " + cfg.ruleset() + " does not load, keeping "
                        + state.version() + ": " + err);
            } else if (!next.hash().equals(state.bundle().hash())) {
                effects(state.commit(System.nanoTime(), next));
                record();
                events.record("INFO", node + " config " + state.version() + " recorded at start");
                noteRestart(state.version(), next);
            }
        } catch (Refused | IOException e) {
            events.record("ERROR", node + " config sync: " + e.getMessage());
        }
        publish();
    }

    /** A peer re-applies its latest recorded version: a crash may have left the system behind it. */
    private void reapplyAtStart() {
        ConfigBundle b = state.bundle();
        if (b.items().isEmpty()) {
            return;
        }
        try {
            files.apply(b);
            if (b.managesNftables()) {
                Nftables.replace(b.nftables(), KEEP_PREFIX);
            }
            if (clusterFile != null && b.tandem() != null) {
                String merged = mergedClusterFile(b);
                if (merged != null) {
                    AtomicFiles.write(clusterFile, merged.getBytes(StandardCharsets.UTF_8), null);
                }
                noteRestart(state.version(), b);
            }
            events.record("INFO", node + " config " + state.version() + " re-applied from the history at start");
        } catch (ManagedFiles.Failed | Refused | IOException | RuntimeException e) {
            events.record("ERROR", node + " config " + state.version() + " could not be re-applied at start: "
                    + e.getMessage());
        }
    }

    private void record() throws IOException {
        history.record(state.version(), state.bundle());
    }

    private void effects(List<ConfigSyncState.Effect> out) {
        for (ConfigSyncState.Effect e : out) {
            switch (e) {
                case ConfigSyncState.Effect.Send s -> send(s.peer(), s.message());
                case ConfigSyncState.Effect.Apply a -> effects(applyOffer(a));
            }
        }
        publish();
    }

    private void send(String peer, ConfigSyncMessage m) {
        if (!transport.send(peer, SyncMessageCodec.encode(m))) {
            state.peerLost(peer); // it reports again when it reconnects
        }
    }

    private List<ConfigSyncState.Effect> applyOffer(ConfigSyncState.Effect.Apply a) {
        long t0 = System.nanoTime();
        long nftNanos = 0;
        ConfigBundle b = a.bundle();
        boolean nft = a.complete() || a.touched().contains(ConfigBundle.NFTABLES);
        String text = b.managesNftables() ? b.nftables() : null;
        if (nft && text != null && !b.files().isEmpty()) {
            // files are written before nftables: check first so a bad ruleset leaves the files alone
            // (without files, the replace below is itself all or nothing)
            String err = Nftables.checkReplace(text, KEEP_PREFIX);
            if (err != null) {
                return failed(a, "nftables: " + err);
            }
        }
        String clusterText = null;
        boolean tandem = clusterFile != null && b.tandem() != null
                && (a.complete() || a.touched().contains(ConfigBundle.TANDEM));
        if (tandem) {
            try {
                clusterText = mergedClusterFile(b); // validated before anything is touched
            } catch (Refused r) {
                return failed(a, r.getMessage());
            }
        }
        ManagedFiles.Applied applied;
        try {
            applied = files.apply(b);
        } catch (ManagedFiles.Failed f) {
            return failed(a, f.getMessage());
        }
        byte[] clusterBefore = null;
        if (clusterText != null) {
            try {
                clusterBefore = Files.readAllBytes(clusterFile);
                AtomicFiles.write(clusterFile, clusterText.getBytes(StandardCharsets.UTF_8), null);
            } catch (IOException x) {
                applied.undo();
                return failed(a, "tandem: cannot write " + clusterFile + ": " + x.getMessage());
            }
        }
        if (nft && text != null) {
            try {
                long n0 = System.nanoTime();
                Nftables.replace(text, KEEP_PREFIX);
                nftNanos = System.nanoTime() - n0;
            } catch (RuntimeException x) {
                applied.undo();
                restoreClusterFile(clusterBefore);
                return failed(a, "nftables: " + x.getMessage());
            }
        }
        if (tandem) {
            noteRestart(a.version(), b);
        }
        try {
            history.record(a.version(), b);
        } catch (IOException | RuntimeException x) {
            events.record("WARNING", node + " config " + a.version() + " applied but not recorded in " + historyDir
                    + ": " + x.getMessage());
        }
        List<ConfigSyncState.Effect> out = state.applied(a.version());
        events.record("INFO", node + " config " + a.version() + " from " + a.from() + " applied ("
                + (a.complete() ? "complete" : "incremental") + ", items " + a.touched() + ", "
                + (System.nanoTime() - t0) / 1_000_000 + " ms, nftables " + nftNanos / 1_000_000 + " ms)");
        return out;
    }

    private void restoreClusterFile(byte[] before) {
        if (before == null) {
            return;
        }
        try {
            AtomicFiles.write(clusterFile, before, null);
        } catch (IOException e) {
            events.record("ERROR", node + " config sync: could not restore " + clusterFile + ": " + e.getMessage());
        }
    }

    private List<ConfigSyncState.Effect> failed(ConfigSyncState.Effect.Apply a, String reason) {
        events.record("ERROR", node + " config " + a.version() + " from " + a.from()
                + " NOT applied, the previous configuration stays (OUT_OF_SYNC): " + reason);
        return state.applyFailed(a.version(), reason);
    }

    private void publish() {
        ConfigVersion v = state.version();
        helloVersion = v.counter() + " " + v.hash();
        ConfigSyncState.Status st;
        String reason;
        if (primary) {
            st = ConfigSyncState.Status.IN_SYNC;
            reason = "";
            for (Map.Entry<String, ConfigSyncState.SyncView> e : state.peers().entrySet()) {
                ConfigSyncState.Status ps = e.getValue().status();
                if (ps == ConfigSyncState.Status.OUT_OF_SYNC || (ps == ConfigSyncState.Status.SYNCING
                        && st == ConfigSyncState.Status.IN_SYNC)) {
                    st = ps;
                    reason = e.getKey() + ": " + e.getValue().reason();
                }
            }
        } else {
            ConfigSyncState.SyncView self = state.self();
            st = self.status();
            reason = self.reason();
        }
        StringBuilder peers = new StringBuilder();
        state.peers().forEach((k, p) -> peers.append(peers.isEmpty() ? "" : ",").append(q(k)).append(":{\"state\":")
                .append(q(p.status().name())).append(",\"version\":").append(p.version() == null ? "null"
                        : Long.toString(p.version().counter())).append(",\"reason\":").append(q(p.reason())).append('}'));
        statusJson = "{\"state\":" + q(st.name()) + ",\"version\":" + v.counter() + ",\"hash\":" + q(v.hash())
                + ",\"primary\":" + q(primaryName) + ",\"reason\":" + q(reason == null ? "" : reason)
                + ",\"restart_pending\":" + restartPendingJson()
                + ",\"peers\":{" + peers + "}}";
    }

    private String restartPendingJson() {
        StringBuilder sb = new StringBuilder("[");
        for (String x : new java.util.TreeSet<>(restartPending)) {
            sb.append(sb.length() > 1 ? "," : "").append(q(x));
        }
        return sb.append(']').toString();
    }

    private static String q(String s) {
        return dev.tandem.node.daemon.StatusReport.q(s);
    }

    @Override
    public void close() {
        open = false;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
