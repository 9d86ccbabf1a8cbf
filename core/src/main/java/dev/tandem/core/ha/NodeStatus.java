package dev.tandem.core.ha;

import dev.tandem.core.health.HealthMonitors;
import java.util.List;
import java.util.Map;

/**
 * A read-only snapshot of a node core for `tandem status`. {@code advertSilenceMicros}: the advert
 * silence window a PASSIVE node applies now once the dedicated links are silent (-1 without links).
 */
public record NodeStatus(String node, NodeState state, int priority, int effectivePriority,
                         List<InstanceStatus> instances, List<HaEvent> recentTransitions,
                         Map<String, Long> rejectedByReason, List<HealthMonitors.MonitorStatus> monitors,
                         int flapCount, String suspendedBy, long advertSilenceMicros) {

    /** role: MASTER / BACKUP / INIT (RFC 5798 names) for this instance. */
    public record InstanceStatus(String label, int vrid, String role, String master, int masterPriority,
                                 long advertsSent, long advertsReceived, long rejected) {}
}
