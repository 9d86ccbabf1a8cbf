package dev.tandem.node.config;

import java.util.List;

/**
 * The shared monitor definitions (SPEC §3); per-node values (path group sources) live in
 * {@link NodeConfig}. weight 0 means "a failure puts the node in FAULT".
 */
public record MonitorsConfig(boolean linkGroupsAll, List<LinkGroup> linkGroups, List<PathGroup> pathGroups,
                             List<ServiceCheck> serviceChecks, SelfChecks selfChecks) {

    public static MonitorsConfig none() {
        return new MonitorsConfig(false, List.of(), List.of(), List.of(), SelfChecks.none());
    }

    /** interfaces are logical names, mapped to kernel names per node. */
    public record LinkGroup(String name, List<String> interfaces, boolean failOnAll, int weight) {}

    public record PathGroup(String name, List<String> destinations, int intervalMs, int timeoutMs, int failures,
                            boolean failOnAll, boolean compare, int weight) {}

    /** Either command (argv, run without a shell) or unit (systemctl is-active). */
    public record ServiceCheck(String name, List<String> command, String unit, int intervalMs, int timeoutMs, int fall,
                               int rise, int weight) {}

    /** Built-in checks, each a FAULT when it fails. nftTable: "family name" that must exist, or null. */
    public record SelfChecks(boolean ipForwarding, String nftTable, boolean threads, int intervalMs) {
        public static SelfChecks none() {
            return new SelfChecks(false, null, false, 1000);
        }
    }
}
