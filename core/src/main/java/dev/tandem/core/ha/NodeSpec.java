package dev.tandem.core.ha;

import dev.tandem.core.health.HealthSpec;
import dev.tandem.core.vrrp.ChecksumMode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Everything a node core needs to know about itself. */
public record NodeSpec(String name, int priority, boolean preempt, boolean accept, ChecksumMode checksumMode,
                       HaTimers timers, List<InstanceSpec> instances, PeerLinks links, HealthSpec health) {

    /** A node without monitors. */
    public NodeSpec(String name, int priority, boolean preempt, boolean accept, ChecksumMode checksumMode,
                    HaTimers timers, List<InstanceSpec> instances, PeerLinks links) {
        this(name, priority, preempt, accept, checksumMode, timers, instances, links, HealthSpec.none());
    }

    /** A node whose only heartbeat path is VRRP itself. */
    public NodeSpec(String name, int priority, boolean preempt, boolean accept, ChecksumMode checksumMode,
                    HaTimers timers, List<InstanceSpec> instances) {
        this(name, priority, preempt, accept, checksumMode, timers, instances, PeerLinks.none(), HealthSpec.none());
    }


    public NodeSpec {
        if (priority < 1 || priority > 255) {
            throw new IllegalArgumentException("priority " + priority + " out of 1..255");
        }
        if (instances.isEmpty()) {
            throw new IllegalArgumentException("a node needs at least one VRRP instance");
        }
        Set<String> keys = new HashSet<>();
        for (InstanceSpec i : instances) {
            if (!keys.add(i.iface() + "/" + i.ipv6() + "/" + i.vrid())) {
                throw new IllegalArgumentException("duplicate VRID " + i.vrid() + " on " + i.iface());
            }
        }
        instances = List.copyOf(instances);
    }

    public NodeSpec withHealth(HealthSpec h) {
        return new NodeSpec(name, priority, preempt, accept, checksumMode, timers, instances, links, h);
    }

    public boolean owner() {
        return priority == 255;
    }
}
