package dev.tandem.node.daemon;

import dev.tandem.core.ha.NodeState;
import dev.tandem.core.ha.NodeStatus;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Prometheus metrics of one node (Micrometer). Counters the loop owns are incremented by the loop
 * (cheap); the rest is read from a status snapshot taken when Prometheus scrapes, so the loop never
 * builds one for metrics.
 */
public final class NodeMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, AtomicLong> values = new ConcurrentHashMap<>();
    /** Transitions by the state entered: the loop increments, the registry reads them at a scrape. */
    private final AtomicLongArray transitions = new AtomicLongArray(NodeState.values().length);
    private final Timer takeover;
    /**
     * Takeover durations the loop wrote and no scrape has moved into the timer yet: a ring the loop
     * writes with two volatile stores. The loop never calls into Micrometer: seen in the lab, the
     * first record into a percentile timer (its histogram built, its classes loaded) held the loop
     * 7-9 ms at a takeover, beside a commit that wanted the same CPUs. Past 64 unscraped takeovers the
     * oldest are overwritten (counted in tandem_takeover_unrecorded).
     */
    private static final int TAKEOVER_RING = 64;
    private final AtomicLongArray takeoverRing = new AtomicLongArray(TAKEOVER_RING);
    private final AtomicLong takeoversWritten = new AtomicLong();
    private long takeoversRead; // by the scrape, under this object's lock
    private final AtomicLong takeoversLost = new AtomicLong();

    public NodeMetrics(String node) {
        registry.config().commonTags("node", node);
        for (NodeState s : NodeState.values()) {
            Gauge.builder("tandem_node_state", value("state." + s), AtomicLong::get).tag("state", s.name())
                    .description("1 for the node's current state").register(registry);
            FunctionCounter.builder("tandem_transitions", transitions, t -> t.get(s.ordinal())).tag("to", s.name())
                    .description("state transitions, by the state entered").register(registry);
        }
        FunctionCounter.builder("tandem_takeover_unrecorded", takeoversLost, AtomicLong::get)
                .description("takeovers whose duration was overwritten before a scrape read it").register(registry);
        Gauge.builder("tandem_effective_priority", value("priority"), AtomicLong::get).register(registry);
        Gauge.builder("tandem_dropped_inputs", value("dropped"), AtomicLong::get)
                .description("inputs dropped because the loop's queue was full").register(registry);
        takeover = Timer.builder("tandem_takeover").description("from the input that decided a takeover to the "
                + "addresses added and the first announcement sent").publishPercentiles(0.5, 0.99).register(registry);
    }

    private AtomicLong value(String key) {
        return values.computeIfAbsent(key, k -> new AtomicLong());
    }

    /** Called by the loop on every transition: one atomic increment. */
    public void transition(NodeState to) {
        transitions.incrementAndGet(to.ordinal());
    }

    /** Called by the loop after a takeover's actions ran; nanos since the deciding input arrived. */
    public void takeover(long nanos) {
        long n = takeoversWritten.get(); // the loop is the only writer
        takeoverRing.set((int) (n % TAKEOVER_RING), nanos);
        takeoversWritten.set(n + 1);
    }

    /** At a scrape: the takeovers written since the last one go into the timer. */
    private synchronized void drainTakeovers() {
        long written = takeoversWritten.get();
        if (written - takeoversRead > TAKEOVER_RING) {
            takeoversLost.addAndGet(written - takeoversRead - TAKEOVER_RING);
            takeoversRead = written - TAKEOVER_RING;
        }
        for (; takeoversRead < written; takeoversRead++) {
            takeover.record(takeoverRing.get((int) (takeoversRead % TAKEOVER_RING)), TimeUnit.NANOSECONDS);
        }
    }

    /** Renders the Prometheus text format from a fresh status snapshot and the channel's path states. */
    /** configVersion: "counter hash" (null: no config sync); configState: IN_SYNC / SYNCING / OUT_OF_SYNC / OFF. */
    public String scrape(NodeStatus s, long droppedInputs, Map<String, Boolean> paths, Map<String, Long> sessions,
                         String configVersion, String configState) {
        if (configVersion != null) {
            try {
                gauge("tandem_config_version", Tags.empty()).set(Long.parseLong(configVersion.split(" ")[0]));
            } catch (NumberFormatException e) {
                // no version yet
            }
        }
        for (String st : new String[]{"IN_SYNC", "SYNCING", "OUT_OF_SYNC", "OFF"}) {
            gauge("tandem_config_sync_state", Tags.of("state", st)).set(st.equals(configState) ? 1 : 0);
        }
        sessions.forEach((k, v) -> {
            int dot = k.indexOf('.');
            String name = "tandem_sessions_" + (dot < 0 ? k : k.substring(0, dot));
            gauge(name, dot < 0 ? Tags.empty() : Tags.of("peer", k.substring(dot + 1))).set(v);
        });
        for (NodeState st : NodeState.values()) {
            value("state." + st).set(s.state() == st ? 1 : 0);
        }
        value("priority").set(s.effectivePriority());
        value("dropped").set(droppedInputs);
        for (NodeStatus.InstanceStatus i : s.instances()) {
            counter("tandem_adverts_sent", Tags.of("instance", i.label())).set(i.advertsSent());
            counter("tandem_adverts_received", Tags.of("instance", i.label())).set(i.advertsReceived());
        }
        s.rejectedByReason().forEach((reason, n) -> counter("tandem_adverts_rejected", Tags.of("reason", reason)).set(n));
        paths.forEach((path, up) -> gauge("tandem_heartbeat_path_up", Tags.of("path", path)).set(up ? 1 : 0));
        for (var m : s.monitors()) {
            gauge("tandem_monitor_up", Tags.of("monitor", m.name())).set(m.up() ? 1 : 0);
        }
        gauge("tandem_flap_count", Tags.empty()).set(s.flapCount());
        return render();
    }

    /** The Prometheus text of what is registered, the takeovers written since the last scrape included. */
    String render() {
        drainTakeovers();
        return registry.scrape();
    }

    private AtomicLong counter(String name, Tags tags) {
        String key = name + tags;
        AtomicLong v = values.get(key);
        if (v == null) {
            AtomicLong nv = value(key);
            FunctionCounter.builder(name, nv, AtomicLong::get).tags(tags).register(registry);
            v = nv;
        }
        return v;
    }

    private AtomicLong gauge(String name, Tags tags) {
        String key = name + tags;
        AtomicLong v = values.get(key);
        if (v == null) {
            AtomicLong nv = value(key);
            Gauge.builder(name, nv, AtomicLong::get).tags(tags).register(registry);
            v = nv;
        }
        return v;
    }
}
