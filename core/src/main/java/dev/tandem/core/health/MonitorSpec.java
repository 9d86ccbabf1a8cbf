package dev.tandem.core.health;

import java.util.List;

/** One health monitor of a node (SPEC §3). Its name is unique among the node's monitors. */
public sealed interface MonitorSpec {

    String name();

    Effect effect();

    /** "link group 'uplinks'" — how events name the monitor. */
    String label();

    /** What a failed monitor does: put the node in FAULT, or subtract a weight from its priority. */
    record Effect(boolean fault, int weight) {
        public Effect {
            if (fault ? weight != 0 : weight < 1 || weight > 254) {
                throw new IllegalArgumentException(fault ? "a FAULT monitor has no weight" : "weight " + weight + " out of 1..254");
            }
        }

        public static Effect toFault() {
            return new Effect(true, 0);
        }

        public static Effect weight(int w) {
            return new Effect(false, w);
        }

        @Override
        public String toString() {
            return fault ? "fault" : "weight " + weight;
        }
    }

    /** Interfaces watched through kernel link events; fails when any (or all) of them are down. */
    record LinkGroup(String name, List<String> interfaces, boolean failOnAll, Effect effect) implements MonitorSpec {
        public LinkGroup {
            if (interfaces.isEmpty()) {
                throw new IllegalArgumentException("link group '" + name + "' has no interfaces");
            }
            interfaces = List.copyOf(interfaces);
        }

        @Override
        public String label() {
            return "link group '" + name + "'";
        }
    }

    /**
     * ICMP echo to destinations; a destination is down after {@code failures} consecutive lost probes,
     * up again on one answer; the group fails when any (or all) destinations are down. In compare mode
     * a failure counts only when a live peer still reaches the group (the logical-probe rule).
     */
    record PathGroup(String name, List<String> destinations, int failures, boolean failOnAll, boolean compare,
                     Effect effect) implements MonitorSpec {
        public PathGroup {
            if (destinations.isEmpty()) {
                throw new IllegalArgumentException("path group '" + name + "' has no destinations");
            }
            if (failures < 1 || failures > 1000) {
                throw new IllegalArgumentException("path group '" + name + "': failures " + failures + " out of 1..1000");
            }
            destinations = List.copyOf(destinations);
        }

        @Override
        public String label() {
            return "path group '" + name + "'";
        }
    }

    /** A command, systemd unit or self-check run by the node: down after fall failures, up after rise successes. */
    record ServiceCheck(String name, int fall, int rise, Effect effect) implements MonitorSpec {
        public ServiceCheck {
            if (fall < 1 || fall > 1000 || rise < 1 || rise > 1000) {
                throw new IllegalArgumentException("service check '" + name + "': fall/rise out of 1..1000");
            }
        }

        @Override
        public String label() {
            return "service check '" + name + "'";
        }
    }
}
