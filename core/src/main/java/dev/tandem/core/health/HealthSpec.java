package dev.tandem.core.health;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A node's monitors and the timers that apply to their failures (SPEC §2, §3).
 *
 * @param linkGroupsAll overall link condition: false ("any", the default) lets each failed link group
 *                      count on its own; true lets failed link groups count only when every one failed
 * @param monitorFailHoldUpMs a failure must last this long before it counts
 * @param additionalMasterHoldUpMs added for the active (and for compare-mode groups on any node), so
 *                                 that both sides see the same failure before anyone acts
 * @param monitorFailHoldDownMs time in FAULT after every cause cleared before returning to PASSIVE
 * @param flapMax entries into FAULT, each within flapWindowMs of the previous, that suspend the node (0: never)
 * @param flapQuietMs the flap count clears after this long without an entry into FAULT
 */
public record HealthSpec(List<MonitorSpec> monitors, boolean linkGroupsAll, long monitorFailHoldUpMs,
                         long additionalMasterHoldUpMs, long monitorFailHoldDownMs, int flapMax, long flapWindowMs,
                         long flapQuietMs) {

    public static final long FLAP_WINDOW_MS = 15 * 60_000L;
    public static final long FLAP_QUIET_MS = 20 * 60_000L;

    public HealthSpec {
        monitors = List.copyOf(monitors);
        Set<String> names = new HashSet<>();
        for (MonitorSpec m : monitors) {
            if (!names.add(m.name())) {
                throw new IllegalArgumentException("two monitors named '" + m.name() + "'");
            }
        }
        if (monitorFailHoldUpMs < 0 || additionalMasterHoldUpMs < 0 || monitorFailHoldDownMs < 0 || flapMax < 0
                || flapWindowMs < 0 || flapQuietMs < 0) {
            throw new IllegalArgumentException("health timer out of range");
        }
    }

    /** The SPEC §2 defaults of a timer profile, with no monitors. */
    public static HealthSpec profile(String name) {
        return switch (name) {
            case "default" -> new HealthSpec(List.of(), false, 0, 500, 60_000, 3, FLAP_WINDOW_MS, FLAP_QUIET_MS);
            case "aggressive" -> new HealthSpec(List.of(), false, 0, 50, 60_000, 3, FLAP_WINDOW_MS, FLAP_QUIET_MS);
            default -> throw new IllegalArgumentException("unknown timer profile '" + name + "'");
        };
    }

    /** No monitors, no hold-down: a node that only watches its VRRP interfaces (tests, simulator). */
    public static HealthSpec none() {
        return new HealthSpec(List.of(), false, 0, 0, 0, 0, FLAP_WINDOW_MS, FLAP_QUIET_MS);
    }

    public HealthSpec withMonitors(List<MonitorSpec> m) {
        return new HealthSpec(m, linkGroupsAll, monitorFailHoldUpMs, additionalMasterHoldUpMs, monitorFailHoldDownMs,
                flapMax, flapWindowMs, flapQuietMs);
    }

    public HealthSpec withHolds(long holdUpMs, long additionalMs, long holdDownMs) {
        return new HealthSpec(monitors, linkGroupsAll, holdUpMs, additionalMs, holdDownMs, flapMax, flapWindowMs,
                flapQuietMs);
    }

    public HealthSpec withFlap(int max, long windowMs, long quietMs) {
        return new HealthSpec(monitors, linkGroupsAll, monitorFailHoldUpMs, additionalMasterHoldUpMs,
                monitorFailHoldDownMs, max, windowMs, quietMs);
    }

    public HealthSpec withLinkGroupsAll(boolean all) {
        return new HealthSpec(monitors, all, monitorFailHoldUpMs, additionalMasterHoldUpMs, monitorFailHoldDownMs,
                flapMax, flapWindowMs, flapQuietMs);
    }
}
