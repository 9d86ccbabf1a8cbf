package dev.tandem.node.daemon;

import dev.tandem.core.ha.NodeState;
import dev.tandem.core.ha.NodeStatus;
import io.micrometer.core.instrument.Counter;
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

/**
 * Prometheus metrics of one node (Micrometer). Counters the loop owns are incremented by the loop
 * (cheap); the rest is read from a status snapshot taken when Prometheus scrapes, so the loop never
 * builds one for metrics.
 */
public final class NodeMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, AtomicLong> values = new ConcurrentHashMap<>();
    private final Map<NodeState, Counter> transitions = new ConcurrentHashMap<>();
    private final Timer takeover;

    public NodeMetrics(String node) {
        registry.config().commonTags("node", node);
        for (NodeState s : NodeState.values()) {
            Gauge.builder("tandem_node_state", value("state." + s), AtomicLong::get).tag("state", s.name())
                    .description("1 for the node's current state").register(registry);
            transitions.put(s, Counter.builder("tandem_transitions").tag("to", s.name())
                    .description("state transitions, by the state entered").register(registry));
        }
        Gauge.builder("tandem_effective_priority", value("priority"), AtomicLong::get).register(registry);
        Gauge.builder("tandem_dropped_inputs", value("dropped"), AtomicLong::get)
                .description("inputs dropped because the loop's queue was full").register(registry);
        takeover = Timer.builder("tandem_takeover").description("from the input that decided a takeover to the "
                + "addresses added and the first announcement sent").publishPercentiles(0.5, 0.99).register(registry);
    }

    private AtomicLong value(String key) {
        return values.computeIfAbsent(key, k -> new AtomicLong());
    }

    /** Called by the loop on every transition. */
    public void transition(NodeState to) {
        transitions.get(to).increment();
    }

    /** Called by the loop after a takeover's actions ran; nanos since the deciding input arrived. */
    public void takeover(long nanos) {
        takeover.record(nanos, TimeUnit.NANOSECONDS);
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
