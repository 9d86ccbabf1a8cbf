package dev.tandem.node.config;

import java.util.List;
import java.util.Map;

/** A validated cluster file (see docs/configuration.md). Built only by {@link ConfigLoader}. */
public record ClusterConfig(
        ClusterSettings cluster,
        List<VirtualGroupConfig> virtualGroups,
        Map<String, NodeConfig> nodes,
        MonitorsConfig monitors,
        OperatorConfig operator) {

    public NodeConfig node(String name) {
        NodeConfig n = nodes.get(name);
        if (n == null) {
            throw new IllegalArgumentException("node '" + name + "' is not in nodes: (known: " + nodes.keySet() + ")");
        }
        return n;
    }
}
