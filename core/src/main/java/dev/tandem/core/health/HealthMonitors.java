package dev.tandem.core.health;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The state of a node's monitors, fed with link events, probe results and check results, and
 * judged against the hold timers (SPEC §3). Pure: time comes in with every call.
 *
 * <p>A monitor is <em>down</em> as soon as its own rule says so (fall count, failures before down,
 * any/all); the failure <em>counts</em> for the node only after the hold timers, and — for
 * compare-mode path groups — only while a live peer still reaches the group.
 */
public final class HealthMonitors {
    private static final long MS = 1_000_000L;
    private static final long NEVER = Long.MAX_VALUE;

    private final HealthSpec spec;
    private final Map<String, Watched> watched = new LinkedHashMap<>();
    private final Set<String> ifacesDown = new HashSet<>();
    /** peer → compare group → reaches it. */
    private final Map<String, Map<String, Boolean>> peerReports = new TreeMap<>();

    /** One monitor's live state. */
    private static final class Watched {
        final MonitorSpec spec;
        boolean down;
        long since = Long.MIN_VALUE;
        String detail = "";
        // service check counters
        int fails;
        int oks;
        // path group: destination → consecutive lost probes
        final Map<String, Integer> lost = new LinkedHashMap<>();
        final Map<String, String> lastError = new LinkedHashMap<>();

        Watched(MonitorSpec spec) {
            this.spec = spec;
            if (spec instanceof MonitorSpec.PathGroup p) {
                for (String d : p.destinations()) {
                    lost.put(d, 0);
                }
            }
        }
    }

    /** A monitor failure that counts for the node now. */
    public record Counted(MonitorSpec monitor, String cause) {}

    /**
     * The node's health at one instant.
     *
     * @param faults failures with the FAULT effect that count now
     * @param weighted failures with a weight that count now
     * @param penalty the sum of the weights of {@code weighted}
     * @param held monitor → why its failure does not count (yet): for events
     * @param nextChangeAt when a hold timer runs out (NEVER: none pending)
     */
    public record Verdict(List<Counted> faults, List<Counted> weighted, int penalty, Map<String, String> held,
                          long nextChangeAt) {
        public String faultText() {
            return join(faults);
        }

        public String weightText() {
            return join(weighted);
        }

        private static String join(List<Counted> l) {
            StringBuilder sb = new StringBuilder();
            for (Counted c : l) {
                if (!sb.isEmpty()) {
                    sb.append("; ");
                }
                sb.append(c.cause());
            }
            return sb.toString();
        }
    }

    public HealthMonitors(HealthSpec spec) {
        this.spec = spec;
        for (MonitorSpec m : spec.monitors()) {
            watched.put(m.name(), new Watched(m));
        }
    }

    public HealthSpec spec() {
        return spec;
    }

    /** Interfaces down when the node starts: link groups judge them at once. */
    public List<String> start(long now, Set<String> down) {
        ifacesDown.addAll(down);
        List<String> events = relinkAll(now);
        for (Watched w : watched.values()) {
            if (w.down) {
                w.since = Long.MIN_VALUE / 2; // down at boot: a state, not a blip to hold out; counts at once
            }
        }
        return events;
    }

    /** A kernel link event for any interface. Returns event texts for monitors that changed. */
    public List<String> onLink(long now, String iface, boolean up) {
        boolean changed = up ? ifacesDown.remove(iface) : ifacesDown.add(iface);
        return changed ? relinkAll(now) : List.of();
    }

    private List<String> relinkAll(long now) {
        List<String> events = new ArrayList<>();
        for (Watched w : watched.values()) {
            if (w.spec instanceof MonitorSpec.LinkGroup g) {
                List<String> down = new ArrayList<>();
                for (String i : g.interfaces()) {
                    if (ifacesDown.contains(i)) {
                        down.add(i);
                    }
                }
                boolean fails = g.failOnAll() ? down.size() == g.interfaces().size() : !down.isEmpty();
                String detail = fails ? g.label() + " down (interface" + (down.size() > 1 ? "s " : " ")
                        + String.join(", ", down) + " down)" : "";
                set(now, w, fails, detail, g.label() + " up (every interface up" + (down.isEmpty() ? ""
                        : " but " + String.join(", ", down)) + ")", events);
            }
        }
        return events;
    }

    /** One ICMP probe's outcome. Unknown groups or destinations are ignored (returns no events). */
    public List<String> onProbe(long now, String group, String destination, boolean ok, String error) {
        Watched w = watched.get(group);
        if (w == null || !(w.spec instanceof MonitorSpec.PathGroup g) || !w.lost.containsKey(destination)) {
            return List.of();
        }
        int lost = ok ? 0 : Math.min(w.lost.get(destination) + 1, g.failures());
        w.lost.put(destination, lost);
        if (!ok && error != null && !error.isEmpty()) {
            w.lastError.put(destination, error);
        }
        List<String> downDests = new ArrayList<>();
        for (Map.Entry<String, Integer> e : w.lost.entrySet()) {
            if (e.getValue() >= g.failures()) {
                downDests.add(e.getKey());
            }
        }
        boolean fails = g.failOnAll() ? downDests.size() == w.lost.size() : !downDests.isEmpty();
        String detail = "";
        if (fails) {
            String err = w.lastError.getOrDefault(downDests.get(0), "");
            detail = g.label() + " down (" + g.failures() + " of " + g.failures() + " probes to "
                    + String.join(", ", downDests) + " failed" + (err.isEmpty() ? "" : ": " + err) + ")";
        }
        List<String> events = new ArrayList<>();
        set(now, w, fails, detail, g.label() + " up (" + destination + " answers)", events);
        return events;
    }

    /** One run of a service check. */
    public List<String> onCheck(long now, String name, boolean ok, String detail) {
        Watched w = watched.get(name);
        if (w == null || !(w.spec instanceof MonitorSpec.ServiceCheck c)) {
            return List.of();
        }
        if (ok) {
            w.oks = Math.min(w.oks + 1, c.rise());
            w.fails = 0;
        } else {
            w.fails = Math.min(w.fails + 1, c.fall());
            w.oks = 0;
        }
        boolean fails = w.down ? w.oks < c.rise() : w.fails >= c.fall();
        List<String> events = new ArrayList<>();
        set(now, w, fails, c.label() + " down (" + c.fall() + " failure" + (c.fall() > 1 ? "s" : "") + " in a row"
                + (detail == null || detail.isEmpty() ? "" : ": " + detail) + ")",
                c.label() + " up (" + c.rise() + " success" + (c.rise() > 1 ? "es" : "") + " in a row)", events);
        return events;
    }

    private static void set(long now, Watched w, boolean fails, String downDetail, String upText, List<String> events) {
        if (fails == w.down) {
            if (fails) {
                w.detail = downDetail; // keep the newest reason
            }
            return;
        }
        w.down = fails;
        if (fails) {
            w.since = now;
            w.detail = downDetail;
            events.add(downDetail);
        } else {
            w.since = Long.MIN_VALUE;
            w.detail = "";
            events.add(upText);
        }
    }

    /** What a peer said of its compare-mode path groups. */
    public void onPeerReport(String peer, Map<String, Boolean> groups) {
        Map<String, Boolean> m = new TreeMap<>();
        for (Map.Entry<String, Boolean> e : groups.entrySet()) {
            Watched w = watched.get(e.getKey());
            if (w != null && w.spec instanceof MonitorSpec.PathGroup g && g.compare()) {
                m.put(e.getKey(), e.getValue());
            }
        }
        peerReports.put(peer, m);
    }

    /** This node's compare-mode groups: name → reaches it. What the peers need to hear. */
    public Map<String, Boolean> compareReport() {
        Map<String, Boolean> m = new TreeMap<>();
        for (Watched w : watched.values()) {
            if (w.spec instanceof MonitorSpec.PathGroup g && g.compare()) {
                m.put(g.name(), !w.down);
            }
        }
        return m;
    }

    public boolean hasCompareGroups() {
        for (MonitorSpec m : spec.monitors()) {
            if (m instanceof MonitorSpec.PathGroup g && g.compare()) {
                return true;
            }
        }
        return false;
    }

    /** Judges every monitor at now. active: whether this node holds the role (additional master hold up). */
    public Verdict evaluate(long now, boolean active, Predicate<String> peerAlive) {
        List<Counted> faults = new ArrayList<>();
        List<Counted> weighted = new ArrayList<>();
        Map<String, String> held = new LinkedHashMap<>();
        int penalty = 0;
        long next = NEVER;
        boolean allLinkGroupsDown = true;
        boolean anyLinkGroup = false;
        for (Watched w : watched.values()) {
            if (w.spec instanceof MonitorSpec.LinkGroup) {
                anyLinkGroup = true;
                allLinkGroupsDown &= w.down;
            }
        }
        for (Watched w : watched.values()) {
            if (!w.down) {
                continue;
            }
            boolean compare = w.spec instanceof MonitorSpec.PathGroup g && g.compare();
            if (w.spec instanceof MonitorSpec.LinkGroup && spec.linkGroupsAll() && anyLinkGroup && !allLinkGroupsDown) {
                held.put(w.spec.name(), w.detail + "; other link groups still up (overall condition: all)");
                continue;
            }
            long additional = active || compare ? spec.additionalMasterHoldUpMs() : 0;
            long countAt = w.since + (spec.monitorFailHoldUpMs() + additional) * MS;
            if (now < countAt) {
                next = Math.min(next, countAt);
                continue;
            }
            String cause = w.detail;
            if (compare) {
                List<String> reach = new ArrayList<>();
                List<String> cannot = new ArrayList<>();
                for (Map.Entry<String, Map<String, Boolean>> e : peerReports.entrySet()) {
                    Boolean r = e.getValue().get(w.spec.name());
                    if (r != null && peerAlive.test(e.getKey())) {
                        (r ? reach : cannot).add(e.getKey());
                    }
                }
                if (reach.isEmpty()) {
                    held.put(w.spec.name(), w.detail + (cannot.isEmpty() ? "; no live peer to compare with"
                            : "; " + String.join(", ", cannot) + " cannot reach it either") + ": no failover");
                    continue;
                }
                cause += "; " + String.join(", ", reach) + (reach.size() > 1 ? " reach" : " reaches") + " it";
            }
            long hold = spec.monitorFailHoldUpMs() + additional;
            if (hold > 0) {
                cause += "; after " + (spec.monitorFailHoldUpMs() > 0 ? "monitor fail hold up "
                        + spec.monitorFailHoldUpMs() + " ms" + (additional > 0 ? " + " : "") : "")
                        + (additional > 0 ? "additional master hold up " + additional + " ms" : "");
            }
            if (w.spec.effect().fault()) {
                faults.add(new Counted(w.spec, cause));
            } else {
                weighted.add(new Counted(w.spec, cause + " (weight " + w.spec.effect().weight() + ")"));
                penalty += w.spec.effect().weight();
            }
        }
        return new Verdict(List.copyOf(faults), List.copyOf(weighted), penalty, held, next);
    }

    /** Status lines: one per monitor. */
    public List<MonitorStatus> status() {
        List<MonitorStatus> l = new ArrayList<>();
        for (Watched w : watched.values()) {
            l.add(new MonitorStatus(w.spec.name(), w.spec.label(), w.spec.effect().toString(), !w.down,
                    w.down ? w.detail : ""));
        }
        return l;
    }

    public record MonitorStatus(String name, String label, String effect, boolean up, String detail) {}
}
