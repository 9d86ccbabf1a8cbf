package dev.tandem.node.daemon;

import dev.tandem.core.ha.Action;
import dev.tandem.core.ha.Input;
import dev.tandem.core.ha.InstanceSpec;
import dev.tandem.core.ha.NodeCore;
import dev.tandem.core.ha.NodeSpec;
import dev.tandem.core.ha.NodeStatus;
import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import dev.tandem.linux.ConntrackTableSize;
import dev.tandem.linux.LinkEventReader;
import dev.tandem.linux.NeighbourAnnouncer;
import dev.tandem.linux.Rtnetlink;
import dev.tandem.linux.VrrpSocket;
import dev.tandem.node.channel.HeartbeatPort;
import dev.tandem.node.channel.PeerChannel;
import dev.tandem.node.channel.Pki;
import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.alerts.Alert;
import dev.tandem.node.alerts.AlertDispatcher;
import dev.tandem.node.alerts.NotifyScriptSink;
import dev.tandem.node.alerts.RetryPolicy;
import dev.tandem.node.alerts.SmtpSink;
import dev.tandem.node.alerts.WebhookSink;
import dev.tandem.node.config.MonitorsConfig;
import dev.tandem.node.config.OperatorConfig;
import dev.tandem.node.events.EventStore;
import dev.tandem.node.events.Retention;
import dev.tandem.node.config.NodeConfig;
import dev.tandem.node.monitor.PathProber;
import dev.tandem.node.monitor.ServiceChecker;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * One node: a single event loop that owns the {@link NodeCore}, feeds it inputs from the kernel
 * readers (one platform thread each: a blocking FFM read pins a virtual thread's carrier) and
 * executes its actions in order. Nothing blocks the loop but the actions themselves, which are
 * short kernel calls.
 */
public final class NodeDaemon implements AutoCloseable {
    private static final int QUEUE_CAPACITY = 4096;

    private final ClusterConfig config;
    private final String nodeName;
    private final EventLog log;
    /** An input with the moment it happened (read from the kernel or the channel). */
    private record Stamped(long at, Input input) {}

    private final BlockingQueue<Stamped> inputs = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private long lastStepAt = Long.MIN_VALUE;
    private static final long LATE_WARNING_NANOS = 5_000_000L;
    /** An input whose actions took longer than this to carry out is reported (at most once a second). */
    private static final long SLOW_STEP_NANOS = 2_000_000L;
    private long lastLateReport;
    private long lastSlowReport;
    private final ConcurrentLinkedQueue<Runnable> loopTasks = new ConcurrentLinkedQueue<>();
    private final AtomicLong droppedInputs = new AtomicLong();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Map<String, VrrpSocket> sockets = new HashMap<>(); // key iface/4 or iface/6
    private final Map<String, NeighbourAnnouncer> announcers = new HashMap<>();
    private final Map<String, Integer> ifindex = new HashMap<>();
    private final List<Thread> readers = new ArrayList<>();
    private Rtnetlink rtnl;
    private LinkEventReader linkEvents;
    private NodeCore core;
    private Thread loop;
    private ControlServer control;
    private volatile boolean running;
    private boolean acceptRules;
    private PeerChannel channel;
    private final List<HeartbeatPort> heartbeatPorts = new ArrayList<>();
    private final List<AutoCloseable> monitors = new ArrayList<>();
    /** When the loop last ran; NOT_STARTED until it runs (a slow start-up is not a stalled loop). */
    private volatile long loopAliveAt = NOT_STARTED;
    private static final long NOT_STARTED = Long.MIN_VALUE;
    private EventStore eventStore;
    private SystemLog systemLog;
    private AlertDispatcher transitionAlerts; // every sink, keepalived notify script included
    private AlertDispatcher alarmAlerts;      // webhooks and e-mail only: a notify script knows no ALARM state
    private dev.tandem.core.ha.NodeState alertedState;
    private dev.tandem.node.api.ApiServer api;
    private final DaemonView view = new DaemonView(this);
    private final NodeMetrics metrics;
    private dev.tandem.node.sync.SessionSync sessionSync;
    private dev.tandem.node.configsync.ConfigSync configSync;
    private volatile dev.tandem.core.ha.NodeState publishedState = dev.tandem.core.ha.NodeState.INITIAL;
    private volatile int publishedPriority;
    public static final String VERSION = "0.1.0";

    private Path clusterFile;

    /** The file the config came from: config sync carries its shared part (the `tandem` item). */
    public NodeDaemon clusterFile(Path file) {
        this.clusterFile = file == null ? null : file.toAbsolutePath().normalize();
        return this;
    }

    public NodeDaemon(ClusterConfig config, String nodeName, EventLog log) {
        this.config = config;
        this.nodeName = nodeName;
        this.log = log;
        this.metrics = new NodeMetrics(nodeName);
    }

    /** Prometheus text for /metrics: a status snapshot from the loop, then the registry. */
    public String metricsText() throws Exception {
        Map<String, Long> figures = new java.util.LinkedHashMap<>(sessionSync == null ? Map.of() : sessionSync.figures());
        return metrics.scrape(status(), droppedInputs(), channel == null ? Map.of() : channel.pathStates(), figures,
                configSync == null ? null : configSync.helloField(), configSync == null ? "OFF" : configSyncState());
    }

    /** Opens everything, starts the core and the loop. Throws with a clear message if the node cannot run. */
    public void start() throws Exception {
        startOperatorOutputs();
        int rt = config.cluster().realtimePriority();
        dev.tandem.linux.RealtimeScheduling.configure(rt, why -> log.record("WARNING", nodeName + ": " + why));
        if (rt > 0) {
            String vm = dev.tandem.linux.RealtimeScheduling.applyToVmThread();
            log.record("INFO", nodeName + ": the failover path (loop, advert, link-event, heartbeat and channel threads"
                    + (vm == null ? ", and the JVM's VM thread that runs its safepoints" : "")
                    + ") runs SCHED_FIFO priority " + rt + " (cluster.realtime_priority)");
            if (vm != null) {
                log.record("WARNING", nodeName + ": the JVM's VM thread stays at ordinary priority (" + vm
                        + "): on a busy host a safepoint can stall the failover path");
            }
        }
        rtnl = Rtnetlink.open();
        Set<String> down = new HashSet<>();
        Map<String, InstancePlan.InterfaceFacts> facts = interfaceFacts(rtnl, config, nodeName, down, ifindex);
        NodeSpec spec = InstancePlan.plan(config, nodeName, facts);
        TakeoverRehearsal.run(spec, log);
        core = new NodeCore(spec);
        if (!spec.accept()) {
            AcceptModeRules.install(spec.instances());
            acceptRules = true;
            log.record("INFO", nodeName + " accept mode off: packets addressed to the VIPs are dropped (nftables table "
                    + AcceptModeRules.TABLE + ")");
        }

        // Link events first, so that no change between the dump above and the readers is lost.
        linkEvents = new LinkEventReader(ev -> offer(new Input.LinkChanged(ev.name(), ev.up())));
        linkEvents.start();
        for (InstanceSpec i : spec.instances()) {
            String key = key(i.iface(), i.ipv6());
            if (!sockets.containsKey(key)) {
                VrrpSocket s = VrrpSocket.open(i.iface(), i.ipv6(), i.sourceAddress().bytes());
                sockets.put(key, s);
                Thread t = Thread.ofPlatform().name("vrrp-" + i.iface() + (i.ipv6() ? "-v6" : "-v4")).daemon(true)
                        .unstarted(() -> readVrrp(i.iface(), i.ipv6(), s));
                readers.add(t);
            }
            announcers.computeIfAbsent(i.iface(), n -> NeighbourAnnouncer.open(rtnl, n));
        }
        if (config.cluster().configSync().enabled()) {
            startConfigSync();
        }
        if (spec.links().enabled()) {
            startChannel(spec);
        } else if (configSync != null) {
            log.record("WARNING", nodeName + ": config sync is enabled but no control link is configured: nothing syncs");
        }
        // the heap follows the session table this node may hold (HeapSizing, docs/session-sync.md)
        String heap = HeapSizing.apply(config.cluster().sessions().enabled(), config.cluster().sessions().maxEntries());
        log.record(heap.contains("WARNING") ? "WARNING" : "INFO", nodeName + " " + heap);
        if (config.cluster().sessions().enabled()) {
            // a kernel table smaller than the cache loses sessions at the takeover commit: say so now, not then
            String table = ConntrackTableSize.read().shortfall(config.cluster().sessions().maxEntries());
            if (table != null) {
                log.record("WARNING", nodeName + " session sync: " + table);
            }
            startSessionSync(spec);
        }
        control = new ControlServer(Path.of(config.cluster().runDir(), nodeName + ".sock"), this, log);
        control.start();

        running = true;
        if (sessionSync != null) {
            // ordinary priority: the kernel does the work (under ctnetlink's mutex), the loop must stay first
            commitThread = Thread.ofPlatform().daemon(true).name("tandem-commit-" + nodeName).start(this::runCommits);
        }
        startMonitors();
        // readers first: the election delay starts with core.start(), and an advert that arrives then
        // must be read (it waits in the queue until the loop runs, stepped at the start time)
        readers.forEach(Thread::start);
        long t0 = System.nanoTime();
        List<Action> first = core.start(t0, down);
        lastStepAt = t0;
        loop = Thread.ofPlatform().name("tandem-loop-" + nodeName).unstarted(() -> runLoop(first));
        loop.start();
        startApi();
    }

    /**
     * The operator API and dashboard on the management address: HTTPS with the cluster PKI, or plain
     * HTTP on a loopback address (or anywhere when operator.api.plaintext is set, with an ALARM).
     */
    private void startApi() throws Exception {
        NodeConfig.Management m = config.node(nodeName).management();
        if (m == null) {
            return;
        }
        OperatorConfig op = config.operator();
        java.net.InetSocketAddress bind = new java.net.InetSocketAddress(
                java.net.InetAddress.getByAddress(IpAddress.parse(m.address()).bytes()), m.port());
        boolean loopback = bind.getAddress().isLoopbackAddress();
        dev.tandem.node.api.ApiServer.Settings settings;
        if (loopback || op.apiPlaintext()) {
            settings = dev.tandem.node.api.ApiServer.Settings.plain(bind);
            if (!loopback) {
                settings = settings.withPlaintextAllowed();
                log.record("ALARM", nodeName + ": the API on " + m.address() + " runs in PLAINTEXT (operator.api.plaintext)");
            }
        } else {
            settings = dev.tandem.node.api.ApiServer.Settings.https(bind,
                    dev.tandem.node.api.ApiServer.tlsContext(Path.of(config.cluster().pkiDir()), nodeName));
        }
        dev.tandem.node.api.TokenStore tokens = dev.tandem.node.api.TokenStore.open(Path.of(op.tokenFileOrDefault()));
        dev.tandem.node.api.ApiServer.Settings s = settings;
        api = m.netns() == null ? dev.tandem.node.api.ApiServer.start(view, tokens, s)
                : dev.tandem.linux.Netns.callIn(m.netns(), () -> dev.tandem.node.api.ApiServer.start(view, tokens, s));
        log.listen(view::eventAppended);
        log.listen(e -> view.statusChanged()); // events mark every change worth redrawing
        log.record("INFO", nodeName + ": API and dashboard on " + (loopback || op.apiPlaintext() ? "http" : "https")
                + "://" + (bind.getAddress() instanceof java.net.Inet6Address ? "[" + m.address() + "]" : m.address())
                + ":" + api.address().getPort() + "/ (tokens in " + op.tokenFileOrDefault() + ")");
    }

    /** The status as the API and `tandem status --json` show it. */
    public String statusJson() throws Exception {
        var c = config.cluster();
        String extra = "{\"version\":" + StatusReport.q(VERSION) + ",\"profile\":" + StatusReport.q(c.profile())
                + ",\"intervals\":{\"advert_ms\":" + c.advertIntervalMs() + ",\"heartbeat_ms\":" + c.heartbeatIntervalMs()
                + ",\"hello_ms\":" + c.helloIntervalMs() + "},\"config_sync\":"
                + (configSync == null ? "{\"state\":\"OFF\"}" : configSync.statusJson())
                + ",\"session_sync\":" + StatusReport.q(sessionSync == null ? "OFF" : sessionSync.state())
                + (sessionSync == null ? "" : ",\"session_sync_detail\":" + sessionSync.statusJson()) + ",";
        return extra + StatusReport.json(status(), role(), recentEvents(20), droppedInputs(), channelStatus()).substring(1);
    }

    public dev.tandem.core.ha.NodeState publishedState() {
        return publishedState;
    }

    /** A peer that says it is ACTIVE in its last hello, or null. */
    public String activePeer() {
        if (channel == null) {
            return null;
        }
        for (PeerChannel.Hello h : channel.hellos().values()) {
            if ("ACTIVE".equals(h.state())) {
                return h.node();
            }
        }
        return null;
    }

    /**
     * The event database, the system log and the alert sinks. A database that cannot be opened stops
     * the start with the reason (the operator asked for a history); a missing /dev/log does not.
     */
    private void startOperatorOutputs() throws Exception {
        OperatorConfig op = config.operator();
        Path db = Path.of(op.stateDir(), nodeName + "-events.db");
        java.nio.file.Files.createDirectories(db.getParent());
        eventStore = EventStore.open(db, new Retention(op.eventsMaxCount(), java.time.Duration.ofDays(op.eventsMaxAgeDays())),
                EventStore.Options.DEFAULTS.withOnWriteFailure((n, e) -> log.record("WARNING", nodeName
                        + " could not store " + n + " event(s) in " + db + ": " + e.getMessage())));
        if (op.syslog() && java.nio.file.Files.exists(Path.of("/dev/log"))) {
            systemLog = new SystemLog("/dev/log", "tandem");
        }
        log.attach(eventStore, systemLog);
        if (op.syslog() && systemLog == null) {
            log.record("INFO", nodeName + ": no /dev/log on this host: events go to stdout (journald) and " + db);
        }
        AlertDispatcher.FailureListener onFailure = f -> log.record("WARNING", nodeName + " alert not delivered: "
                + f.describe());
        AlertDispatcher.Builder all = AlertDispatcher.builder().onFailure(onFailure);
        AlertDispatcher.Builder alarms = AlertDispatcher.builder().onFailure(onFailure);
        int sinks = 0;
        for (OperatorConfig.Webhook w : op.webhooks()) {
            all.sink(new WebhookSink(java.net.URI.create(w.url()), java.time.Duration.ofMillis(w.timeoutMs())));
            alarms.sink(new WebhookSink(java.net.URI.create(w.url()), java.time.Duration.ofMillis(w.timeoutMs())));
            sinks++;
        }
        if (op.email() != null) {
            OperatorConfig.Email e = op.email();
            SmtpSink.Settings st = new SmtpSink.Settings(e.server(), e.port(), heloName(), e.from(), e.to(),
                    java.time.Duration.ofMillis(e.timeoutMs()));
            all.sink(new SmtpSink(st));
            alarms.sink(new SmtpSink(st));
            sinks++;
        }
        if (sinks > 0) {
            alarmAlerts = alarms.build();
            log.listen(ev -> {
                if ("ALARM".equals(ev.kind())) {
                    alarmAlerts.dispatch(new Alert(java.time.Instant.ofEpochMilli(ev.timeMillis()), nodeName,
                            Alert.Kind.GROUP, "alarm", "ALARM", Math.max(0, publishedPriority), ev.text()));
                }
            });
        }
        if (op.notifyScript() != null) {
            // run once per transition: a script may not be idempotent
            all.sink(new NotifyScriptSink(Path.of(op.notifyScript()), java.time.Duration.ofMillis(op.notifyTimeoutMs())),
                    RetryPolicy.ONCE);
            sinks++;
        }
        if (sinks > 0) {
            transitionAlerts = all.build();
        }
    }

    /** The name this host gives in SMTP EHLO: the kernel's host name (no DNS lookup that could hang). */
    private static String heloName() {
        try {
            String h = java.nio.file.Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            return h.matches("[A-Za-z0-9.-]{1,253}") ? h : "localhost";
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }

    /** keepalived's notify states: MASTER, BACKUP, FAULT, STOP (SUSPENDED counts as FAULT: it cannot serve). */
    static String notifyState(dev.tandem.core.ha.NodeState s) {
        return switch (s) {
            case ACTIVE -> "MASTER";
            case INITIAL, PASSIVE -> "BACKUP";
            case FAULT, SUSPENDED -> "FAULT";
            case STOPPED -> "STOP";
        };
    }

    /** After a step: a state change becomes one alert per virtual group (keepalived GROUP notify). */
    private void alertOnTransition() {
        dev.tandem.core.ha.NodeState now = core.state();
        if (transitionAlerts == null || now == alertedState) {
            return;
        }
        dev.tandem.core.ha.NodeState before = alertedState;
        alertedState = now;
        if (before == null && now == dev.tandem.core.ha.NodeState.INITIAL) {
            return;
        }
        List<dev.tandem.core.ha.HaEvent> t = core.status().recentTransitions();
        String why = t.isEmpty() ? now.name() : t.getLast().text();
        java.util.Set<String> groups = new java.util.LinkedHashSet<>();
        for (InstanceSpec i : core.spec().instances()) {
            groups.add(i.group());
        }
        for (String g : groups) {
            transitionAlerts.dispatch(new Alert(java.time.Instant.now(), nodeName, Alert.Kind.GROUP, g,
                    notifyState(now), core.effectivePriority(), why));
        }
    }

    /** Path probers and service checks: each on its own thread, results into the loop's queue. */
    private void startMonitors() {
        MonitorsConfig m = config.monitors();
        NodeConfig me = config.node(nodeName);
        for (MonitorsConfig.PathGroup g : m.pathGroups()) {
            PathProber p = new PathProber(g, me.pathSources().get(g.name()), this::offer,
                    text -> log.record("WARNING", nodeName + " " + text));
            monitors.add(p);
            p.start();
        }
        for (MonitorsConfig.ServiceCheck c : m.serviceChecks()) {
            ServiceChecker.Probe probe = c.unit() != null ? ServiceChecker.unit(c.unit(), c.timeoutMs())
                    : ServiceChecker.command(c.command(), c.timeoutMs());
            monitors.add(new ServiceChecker(c.name(), c.intervalMs(), probe, this::offer));
        }
        MonitorsConfig.SelfChecks self = m.selfChecks();
        if (self.ipForwarding()) {
            monitors.add(new ServiceChecker(InstancePlan.SELF_IP_FORWARDING, self.intervalMs(),
                    ServiceChecker.of(NodeDaemon::ipForwardingFailure), this::offer));
        }
        if (self.nftTable() != null) {
            // one netlink dump of the table names (~1 ms): `nft list table` printed every rule, 300 ms of
            // CPU per check beside 10,000 rules, and could time out into a FAULT on a busy firewall
            String wanted = self.nftTable().trim().replaceAll("\\s+", " ");
            monitors.add(new ServiceChecker(InstancePlan.SELF_NFT_TABLE, self.intervalMs(), ServiceChecker.of(() -> {
                List<String> tables = dev.tandem.linux.Nftables.tables();
                return tables.contains(wanted) ? null : "nftables table " + wanted + " not loaded (tables: "
                        + (tables.isEmpty() ? "none" : String.join(", ", tables)) + ")";
            }), this::offer));
        }
        if (self.threads()) {
            monitors.add(new ServiceChecker(InstancePlan.SELF_THREADS, self.intervalMs(),
                    ServiceChecker.of(this::threadsFailure), this::offer));
        }
        for (AutoCloseable a : monitors) {
            if (a instanceof ServiceChecker c) {
                c.start();
            }
        }
    }

    private static String ipForwardingFailure() {
        try {
            String v4 = java.nio.file.Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
            return "1".equals(v4) ? null : "IPv4 forwarding is off (net.ipv4.ip_forward = " + v4 + ")";
        } catch (java.io.IOException e) {
            return "cannot read net.ipv4.ip_forward: " + e.getMessage();
        }
    }

    /** The loop steps at least once a second; every reader thread must be alive. */
    private String threadsFailure() {
        long alive = loopAliveAt;
        long quiet = alive == NOT_STARTED ? 0 : System.nanoTime() - alive;
        if (quiet > 3_000_000_000L) {
            return "the event loop has not run for " + quiet / 1_000_000 + " ms";
        }
        for (Thread t : readers) {
            if (t.getState() == Thread.State.TERMINATED && running) { // not merely not started yet
                return "thread " + t.getName() + " has died";
            }
        }
        return null;
    }

    private void startConfigSync() throws Exception {
        String primary = null;
        for (NodeConfig n : config.nodes().values()) {
            if ("primary".equals(n.role())) {
                primary = n.name();
            }
        }
        configSync = new dev.tandem.node.configsync.ConfigSync(nodeName, primary, config.cluster().configSync(),
                Path.of(config.operator().stateDir(), nodeName + "-config-history"), clusterFile,
                (peer, msg) -> channel != null && channel.sendConfig(peer, msg), log::record);
        configSync.start();
    }

    /** The config sync component, or null when cluster.config_sync is off. */
    /** IN_SYNC / SYNCING / OUT_OF_SYNC from the config-sync status object. */
    private String configSyncState() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"state\":\"([A-Z_]+)\"").matcher(configSync.statusJson());
        return m.find() ? m.group(1) : "UNKNOWN";
    }

    public dev.tandem.node.configsync.ConfigSync configSync() {
        return configSync;
    }

    private void startChannel(NodeSpec spec) throws Exception {
        List<PeerChannel.PathSpec> paths = new ArrayList<>();
        for (String path : spec.links().paths()) {
            Map<String, String> peers = new java.util.LinkedHashMap<>();
            for (NodeConfig n : config.nodes().values()) {
                if (!n.name().equals(nodeName)) {
                    peers.put(n.name(), path.equals("control") ? n.control() : n.backup());
                }
            }
            NodeConfig me = config.node(nodeName);
            paths.add(new PeerChannel.PathSpec(path, path.equals("control") ? me.control() : me.backup(), peers));
        }
        javax.net.ssl.SSLContext tls = null;
        if ("tls".equals(config.cluster().securityMode())) {
            try {
                tls = Pki.context(Path.of(config.cluster().pkiDir()), nodeName);
            } catch (java.io.IOException | java.security.GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot load the TLS key and certificates of " + nodeName + " from "
                        + config.cluster().pkiDir() + " (create them with `tandem pki init` and `tandem pki issue "
                        + nodeName + "`): " + e.getMessage());
            }
        } else {
            log.record("ALARM", nodeName + ": the peer channel runs in PLAINTEXT (security.mode: plaintext): anyone on "
                    + "the control link can read and forge hellos and commands");
        }
        channel = new PeerChannel(nodeName, VERSION, tls, config.cluster().channelPort(), paths, new PeerChannel.Sink() {
            @Override
            public void input(Input in) {
                offer(in);
            }

            @Override
            public void event(String kind, String text) {
                log.record(kind, nodeName + " " + text);
            }

            @Override
            public void command(Input.CommandKind kind, String who) {
                NodeDaemon.this.command(kind, who);
            }

            @Override
            public void connected(String peer) {
                if (configSync != null) {
                    configSync.peerConnected(peer);
                }
            }

            @Override
            public void disconnected(String peer) {
                if (configSync != null) {
                    configSync.peerLost(peer);
                }
            }

            @Override
            public void config(String peer, String message) {
                if (configSync != null) {
                    configSync.received(peer, message);
                } else {
                    log.record("WARNING", nodeName + " config sync message from " + peer
                            + " ignored: cluster.config_sync is off on this node");
                }
            }

            @Override
            public void configVersion(String peer, String version) {
                if (configSync != null) {
                    configSync.helloVersion(peer, version);
                }
            }
        }, () -> List.of(nodeName, role(), publishedState.name(), Integer.toString(publishedPriority), VERSION,
                configSync == null ? "OFF" : configSync.helloField(), sessionSync == null ? "OFF" : sessionSync.state(), "ok"));
        channel.helloInterval(config.cluster().helloIntervalMs());
        channel.start();
        for (PeerChannel.PathSpec p : paths) {
            HeartbeatPort hp = new HeartbeatPort(nodeName, p, config.cluster().channelPort(), channel.heartbeatKey(),
                    channel::peerKey, this::offer);
            heartbeatPorts.add(hp);
        }
        heartbeatPorts.forEach(HeartbeatPort::start);
    }

    /**
     * Session sync over the data link (fallback: the control link), same TLS as the channel. Flows
     * to or from this firewall's own addresses and the VIPs are its own traffic: not synced.
     */
    private void startSessionSync(NodeSpec spec) throws Exception {
        var sc = config.cluster().sessions();
        NodeConfig me = config.node(nodeName);
        if (me.dataOrFallback() == null) {
            throw new IllegalArgumentException("cluster.sessions is enabled but " + nodeName
                    + " has no data, backup or control address (nodes." + nodeName + ".data)");
        }
        Map<String, List<String>> peers = new java.util.LinkedHashMap<>();
        for (NodeConfig n : config.nodes().values()) {
            if (!n.name().equals(nodeName)) {
                List<String> addrs = new ArrayList<>();
                addrs.add(n.dataOrFallback());
                if (n.control() != null && !addrs.contains(n.control())) {
                    addrs.add(n.control());
                }
                peers.put(n.name(), addrs);
            }
        }
        List<String> local = new ArrayList<>();
        local.add(me.dataOrFallback());
        if (me.control() != null && !local.contains(me.control())) {
            local.add(me.control());
        }
        Set<String> interfaceAddresses = new HashSet<>();
        for (Rtnetlink.Link l : rtnl.links()) {
            for (Rtnetlink.InterfaceAddress a : rtnl.addresses(l.index())) {
                interfaceAddresses.add(java.net.InetAddress.getByAddress(a.address()).getHostAddress());
            }
        }
        Set<String> virtualAddresses = new HashSet<>();
        for (InstanceSpec i : spec.instances()) {
            for (Cidr c : i.addresses()) {
                virtualAddresses.add(java.net.InetAddress.getByAddress(c.address().bytes()).getHostAddress());
            }
        }
        Set<String> own = dev.tandem.node.sync.SessionSync.ownTraffic(interfaceAddresses, virtualAddresses, sc.local());
        javax.net.ssl.SSLContext tls = "tls".equals(config.cluster().securityMode())
                ? Pki.context(Path.of(config.cluster().pkiDir()), nodeName) : null;
        int port = sc.port() != 0 ? sc.port() : config.cluster().channelPort() + 1;
        sessionSync = new dev.tandem.node.sync.SessionSync(new dev.tandem.node.sync.SessionSync.Settings(nodeName, tls,
                port, local, peers, sc.protocols(), own, sc.maxEntries(), sc.maxChangesPerSecond(), sc.ignore(),
                sc.mode() == dev.tandem.node.config.ClusterSettings.SessionSyncConfig.Mode.DIRECT),
                log::record, this::offer);
        sessionSync.start();
        log.record("INFO", nodeName + ": session sync on port " + port + " (" + local + "), protocols " + sc.protocols()
                + ", mode " + sessionSync.mode() + (sc.local() ? ", with this firewall's own traffic on the virtual addresses"
                : ""));
    }

    /** Channel lines for `tandem status`. */
    public List<String> channelStatus() {
        List<String> l = new ArrayList<>(channel == null
                ? List.of("no control link configured: VRRP adverts are the only heartbeat path") : channel.describe());
        if (sessionSync != null) {
            l.addAll(sessionSync.describe());
        }
        return l;
    }

    /** Sends an operator command to a peer over the channel. */
    public boolean commandPeer(String peer, Input.CommandKind kind, String who) {
        return channel != null && channel.sendCommand(peer, kind, who);
    }

    private static String key(String iface, boolean v6) {
        return iface + (v6 ? "/6" : "/4");
    }

    private void offer(Input in) {
        offer(in, System.nanoTime());
    }

    /** An input that happened at {@code at} (System.nanoTime() clock): adverts and heartbeats carry the kernel's receive time. */
    private void offer(Input in, long at) {
        if (!inputs.offer(new Stamped(at, in))) {
            droppedInputs.incrementAndGet(); // bounded: a flood of packets must not exhaust memory
        }
    }

    private void readVrrp(String iface, boolean v6, VrrpSocket s) {
        dev.tandem.linux.RealtimeScheduling.enterIfConfigured();
        while (running) {
            VrrpSocket.Received r;
            try {
                r = s.receive();
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                log.record("WARNING", nodeName + " VRRP receive on " + iface + " failed: " + e.getMessage());
                continue;
            }
            if (r == null) {
                return; // closed
            }
            IpAddress src;
            IpAddress dst;
            try {
                src = IpAddress.of(r.source());
                dst = IpAddress.of(r.destination());
            } catch (IllegalArgumentException e) {
                continue;
            }
            offer(new Input.PacketReceived(iface, v6, src, dst, r.ttlOrHopLimit(), r.payload()), r.arrivedAt());
        }
    }

    private void runLoop(List<Action> first) {
        dev.tandem.linux.RealtimeScheduling.enterIfConfigured();
        loopAliveAt = System.nanoTime();
        try {
            execute(first);
            while (true) {
                Runnable task;
                while ((task = loopTasks.poll()) != null) {
                    task.run();
                }
                if (core.state() == dev.tandem.core.ha.NodeState.STOPPED) {
                    break;
                }
                // Inputs first, stepped at the time they happened: if this thread was held up, adverts
                // and heartbeats that arrived meanwhile must count before any timer decides "silent".
                Stamped in = inputs.poll();
                long deadline = core.nextDeadline();
                if (in == null) {
                    long wait = deadline == Long.MAX_VALUE ? 1_000_000_000L : deadline - System.nanoTime();
                    in = wait <= 0 ? null : inputs.poll(wait, TimeUnit.NANOSECONDS);
                }
                // a loop that woke late is this node's own stall: the core then listens 1 ms before it
                // judges anyone silent (NodeCore.STALL_GRACE_NANOS), so the readers can hand over
                long late = System.nanoTime() - deadline;
                if (late > LATE_WARNING_NANOS && System.nanoTime() - lastLateReport > 1_000_000_000L) {
                    lastLateReport = System.nanoTime();
                    // a loop held up this long delays adverts and heartbeats: the peer may take it for dead
                    log.record("WARNING", nodeName + " event loop ran " + (late / 100_000) / 10.0
                            + " ms after its deadline (host overloaded or the JVM paused)");
                }
                loopAliveAt = System.nanoTime();
                long at = Math.max(lastStepAt, in == null ? System.nanoTime() : in.at());
                lastStepAt = at;
                List<Action> out;
                try {
                    out = core.step(at, in == null ? new Input.Tick() : in.input());
                } catch (RuntimeException e) {
                    log.record("ERROR", nodeName + " rejected an input it could not handle: " + e);
                    continue;
                }
                long stepStart = System.nanoTime();
                execute(out);
                dev.tandem.core.ha.NodeState after = core.state();
                boolean changed = after != publishedState;
                if (changed) { // each of these only hands off (no lock, no thread started, no I/O)
                    metrics.transition(after);
                    if (after == dev.tandem.core.ha.NodeState.ACTIVE) {
                        metrics.takeover(System.nanoTime() - at);
                    }
                    if (channel != null) {
                        channel.helloNow(); // peers see the new state now, not at the next hello
                    }
                    if (sessionSync != null) {
                        sessionSync.role(after == dev.tandem.core.ha.NodeState.ACTIVE);
                    }
                }
                alertOnTransition();
                publishedState = core.state();
                publishedPriority = core.effectivePriority();
                long took = System.nanoTime() - stepStart;
                if (took > SLOW_STEP_NANOS && System.nanoTime() - lastSlowReport > 1_000_000_000L) {
                    lastSlowReport = System.nanoTime();
                    // the loop is the failover path: anything slow it does delays adverts and heartbeats
                    log.record("WARNING", nodeName + " event loop spent " + (took / 100_000) / 10.0 + " ms on "
                            + (in == null ? "a timer" : in.input().getClass().getSimpleName()) + " -> "
                            + out.stream().map(a -> a.getClass().getSimpleName()).distinct().toList()
                            + (changed ? " and the transition to " + after : ""));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped.countDown();
        }
    }

    /**
     * Executes the actions in order, except that events are written after the network actions of
     * the same step: logging is I/O, and a takeover should not wait for it.
     */
    private void execute(List<Action> actions) {
        executeDepth++;
        try {
            for (Action a : actions) {
                if (!(a instanceof Action.Record)) {
                    perform(a);
                }
            }
            for (Action a : actions) {
                if (a instanceof Action.Record) {
                    perform(a);
                }
            }
        } finally {
            executeDepth--;
        }
        // the outermost step writes the report of an inline commit, after the transition it belongs to
        if (executeDepth == 0 && commitReport != null) {
            log.record("INFO", nodeName + " " + commitReport);
            commitReport = null;
        }
    }

    /** The commit's figures, written with the step's events (after the addresses and GARPs, not before). */
    private String commitReport;

    /**
     * Sessions the loop commits itself before it answers the core (a few ms at most: the addresses then
     * follow in the same breath); a larger commit runs on the commit thread, and the loop goes on sending
     * adverts and heartbeats until it is answered. 2,000 sessions take 1-5 ms here (docs/session-sync.md).
     */
    static final int INLINE_COMMIT_MAX = 2_000;
    /** Commits asked for and not yet started by the commit thread (one per takeover; a few at most). */
    private final BlockingQueue<Long> commitRequests = new ArrayBlockingQueue<>(8);
    private Thread commitThread;
    /** A commit on the commit thread has not been answered yet: later ones queue behind it, never inline. */
    private final java.util.concurrent.atomic.AtomicInteger commitsQueued = new java.util.concurrent.atomic.AtomicInteger();
    private int executeDepth;

    private void commit(Action.CommitSessions c) {
        if (sessionSync == null) {
            answerCommitNow(c.commit());
            return;
        }
        int n = sessionSync.sessionsToCommit();
        if (n <= INLINE_COMMIT_MAX && commitsQueued.get() == 0) {
            try {
                commitReport = sessionSync.commit();
            } catch (RuntimeException e) { // the addresses must not wait for an answer that never comes
                commitReport = "session commit failed: " + e.getMessage();
            }
            answerCommitNow(c.commit());
            return;
        }
        commitsQueued.incrementAndGet();
        if (!commitRequests.offer(c.commit())) { // 8 takeovers behind one commit: never block the loop, never strand it
            commitsQueued.decrementAndGet();
            log.record("ERROR", nodeName + " too many session commits queued: commit " + c.commit() + " skipped, the "
                    + "addresses are taken without it");
            answerCommitNow(c.commit());
            return;
        }
        log.record("INFO", nodeName + " committing about " + n + " synced sessions on the commit thread before it adds the "
                + "addresses; adverts and heartbeats go on meanwhile");
    }

    /** A commit is done: step the core with the answer now (on the loop), so the addresses go out in this breath. */
    private void answerCommitNow(long commit) {
        long at = Math.max(lastStepAt, System.nanoTime());
        lastStepAt = at;
        execute(core.step(at, new Input.SessionsCommitted(commit)));
    }

    /** The commit thread: one commit at a time, answered through the loop's input queue. */
    private void runCommits() {
        while (running) {
            Long id;
            try {
                id = commitRequests.poll(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (id == null) {
                continue;
            }
            String report = "session commit failed";
            // ordinary scheduling on purpose: at SCHED_FIFO (tried: one below the failover path) a commit of seconds,
            // all of it inside the kernel's sendto on a PREEMPT_NONE kernel, holds a CPU away from every ordinary
            // thread (ksoftirqd, kworkers, a peer's daemon on the same host) for its whole length
            try {
                report = sessionSync.commit();
            } catch (RuntimeException e) {
                report = "session commit failed: " + e.getMessage();
            } finally { // answered whatever happened: the addresses must not wait for an answer that never comes
                commitsQueued.decrementAndGet();
                // past the bounded input queue, like shutdown: a flood of packets must not drop the answer
                long commit = id;
                loopTasks.add(() -> answerCommitNow(commit));
                offer(new Input.Tick()); // wake the loop
                log.record(report.startsWith("session commit failed") ? "ERROR" : "INFO", nodeName + " " + report);
            }
        }
    }

    private void perform(Action a) {
        try {
            switch (a) {
                case Action.SendAdvert s -> sockets.get(key(s.iface(), s.ipv6())).send(s.payload());
                case Action.AddAddress x -> rtnl.addAddress(ifindex.get(x.iface()), x.address().address().bytes(),
                        x.address().prefixLength());
                case Action.RemoveAddress x -> rtnl.removeAddress(ifindex.get(x.iface()),
                        x.address().address().bytes(), x.address().prefixLength());
                case Action.Announce x -> announce(x);
                case Action.Record r -> log.record(r.event());
                case Action.SendHeartbeat h -> {
                    for (HeartbeatPort p : heartbeatPorts) {
                        p.send(h.state(), h.priority());
                    }
                }
                case Action.SendRelease r -> {
                    if (channel != null) {
                        channel.sendRelease(r.why());
                    }
                }
                case Action.CommitSessions c -> commit(c);
                case Action.SendHealth h -> {
                    if (channel != null) {
                        channel.sendHealth(h.pathGroups());
                    }
                }
            }
        } catch (RuntimeException e) {
            // A failed kernel call is reported and the loop goes on: the HA decision stays correct.
            log.record("ERROR", nodeName + " could not " + describe(a) + ": " + e.getMessage());
        }
    }

    private void announce(Action.Announce x) {
        NeighbourAnnouncer n = announcers.get(x.iface());
        for (IpAddress a : x.addresses()) {
            if (a.isIpv6()) {
                n.sendUnsolicitedNeighbourAdvertisement(a.bytes());
            } else {
                n.sendGratuitousArp(a.bytes());
            }
        }
    }

    private static String describe(Action a) {
        return switch (a) {
            case Action.SendAdvert s -> "send an advert on " + s.iface();
            case Action.AddAddress x -> "add " + x.address() + " to " + x.iface();
            case Action.RemoveAddress x -> "remove " + x.address() + " from " + x.iface();
            case Action.Announce x -> "announce " + x.addresses() + " on " + x.iface();
            case Action.Record r -> "record an event";
            case Action.SendHeartbeat h -> "send heartbeats";
            case Action.SendRelease r -> "send a release to the peers";
            case Action.SendHealth h -> "send path group results to the peers";
            case Action.CommitSessions c -> "commit the synced sessions";
        };
    }

    /** Runs fn on the loop thread (the core is not thread-safe) and waits for the answer. */
    public <T> T onLoop(Function<NodeCore, T> fn) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        loopTasks.add(() -> {
            try {
                f.complete(fn.apply(core));
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        offer(new Input.Tick()); // wake the loop
        return f.get(2, TimeUnit.SECONDS);
    }

    public NodeStatus status() throws Exception {
        return onLoop(NodeCore::status);
    }

    public void command(Input.CommandKind kind, String who) {
        offer(new Input.Command(kind, who));
    }

    public String name() {
        return nodeName;
    }

    /** The administrative role from the config: primary / secondary. */
    public String role() {
        return config.node(nodeName).role();
    }

    /**
     * Reads this host's interfaces as the daemon would and plans the node: throws naming every
     * problem (missing interface, VIP outside every subnet of its interface, no source address).
     */
    public static NodeSpec planOnThisHost(ClusterConfig config, String nodeName) {
        try (Rtnetlink r = Rtnetlink.open()) {
            return InstancePlan.plan(config, nodeName, interfaceFacts(r, config, nodeName, new HashSet<>(),
                    new HashMap<>()));
        }
    }

    private static Map<String, InstancePlan.InterfaceFacts> interfaceFacts(Rtnetlink r, ClusterConfig config,
            String nodeName, Set<String> down, Map<String, Integer> indexes) {
        Map<String, InstancePlan.InterfaceFacts> facts = new HashMap<>();
        Map<String, Rtnetlink.Link> links = new HashMap<>();
        for (Rtnetlink.Link l : r.links()) {
            links.put(l.name(), l);
        }
        for (MonitorsConfig.LinkGroup g : config.monitors().linkGroups()) {
            for (String logical : g.interfaces()) {
                String iface = config.node(nodeName).interfaces().getOrDefault(logical, logical);
                Rtnetlink.Link l = links.get(iface);
                if (l == null || !l.up()) {
                    down.add(iface); // a missing interface counts as down for its link group
                }
            }
        }
        for (String iface : config.node(nodeName).interfaces().values()) {
            Rtnetlink.Link l = links.get(iface);
            if (l == null) {
                facts.put(iface, new InstancePlan.InterfaceFacts(iface, false, List.of()));
                continue;
            }
            indexes.put(iface, l.index());
            if (!l.up()) {
                down.add(iface);
            }
            List<Cidr> addrs = new ArrayList<>();
            for (Rtnetlink.InterfaceAddress a : r.addresses(l.index())) {
                addrs.add(new Cidr(IpAddress.of(a.address()), a.prefixLength()));
            }
            facts.put(iface, new InstancePlan.InterfaceFacts(iface, true, addrs));
        }
        return facts;
    }

    public long droppedInputs() {
        return droppedInputs.get();
    }

    public List<String> recentEvents(int n) {
        return log.last(n);
    }

    /** Graceful stop: priority 0 and addresses removed by the core, then everything closed. */
    public void shutdown(String why) {
        if (loop != null && loop.isAlive()) {
            // Bypass the bounded queue's capacity: shutdown must get through.
            loopTasks.add(() -> execute(core.step(Math.max(lastStepAt, System.nanoTime()), new Input.Shutdown(why))));
            offer(new Input.Tick());
            try {
                if (!stopped.await(3, TimeUnit.SECONDS)) {
                    log.record("WARNING", nodeName + " event loop did not stop within 3 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        close();
    }

    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        running = false;
        if (api != null) {
            api.close();
        }
        if (transitionAlerts != null) {
            transitionAlerts.close(java.time.Duration.ofSeconds(2));
        }
        if (alarmAlerts != null) {
            alarmAlerts.close(java.time.Duration.ofSeconds(2));
        }
        for (AutoCloseable m : monitors) {
            try {
                m.close();
            } catch (Exception e) {
                log.record("WARNING", nodeName + " closing a monitor: " + e.getMessage());
            }
        }
        heartbeatPorts.forEach(HeartbeatPort::close);
        if (channel != null) {
            channel.close();
        }
        if (sessionSync != null) {
            sessionSync.close();
        }
        if (configSync != null) {
            configSync.close();
        }
        if (control != null) {
            control.close();
        }
        if (linkEvents != null) {
            linkEvents.close();
        }
        sockets.values().forEach(VrrpSocket::close);
        announcers.values().forEach(NeighbourAnnouncer::close);
        for (Thread t : readers) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (rtnl != null) {
            rtnl.close();
        }
        if (acceptRules) {
            AcceptModeRules.remove();
        }
        log.attach(null, null);
        if (eventStore != null) {
            eventStore.close();
        }
        if (systemLog != null) {
            systemLog.close();
        }
    }

    /** The event database (for the API and `tandem events`), or null before start. */
    public EventStore eventStore() {
        return eventStore;
    }
}
