package dev.tandem.core.ha;

import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.RejectReason;
import dev.tandem.core.vrrp.VrrpAdvert;
import dev.tandem.core.vrrp.VrrpCodec;
import dev.tandem.core.vrrp.VrrpDecodeResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The HA brain of one node: RFC 5798 election for each of its VRRP instances, combined into one
 * node decision (all virtual groups move together, like a keepalived sync group).
 *
 * <p>Pure and deterministic: the caller passes inputs with the current time (nanoseconds, any
 * monotonic origin) and executes the returned actions in order; {@link #nextDeadline()} says when
 * to step again if nothing arrives. No clock, threads, sockets or files.
 *
 * <p>Decision rules beyond the RFC, and why:
 * <ul>
 *   <li>A passive node promotes only when the master is silent on <em>every</em> instance (all
 *   master-down timers expired), or when the master released the role with priority 0 on any
 *   instance (then after the skew time only). One silent segment alone is a broken segment, not
 *   a dead master; taking over there would make two actives.</li>
 *   <li>An active node that goes FAULT sends priority-0 adverts on every segment that still works,
 *   so the peer takes over after the skew time instead of the master-down interval.</li>
 *   <li>On start it removes any of its virtual addresses left by a crashed earlier run.</li>
 * </ul>
 */
public final class NodeCore {
    private static final long NEVER = VrrpInstance.NEVER;
    private static final long MS = 1_000_000L;
    private static final int MAX_RECENT = 32;
    private static final long REJECT_EVENT_SPACING = 1_000 * MS;

    private final NodeSpec spec;
    private final List<VrrpInstance> instances = new ArrayList<>();
    private final long advertIntervalNanos;
    private final Set<String> interfaces = new HashSet<>();
    private final Set<String> linksDown = new HashSet<>();
    private final ArrayDeque<HaEvent> recent = new ArrayDeque<>();
    private final Map<RejectReason, Long> rejected = new EnumMap<>(RejectReason.class);
    private final Map<RejectReason, Long> lastRejectEvent = new EnumMap<>(RejectReason.class);
    private final Map<RejectReason, Long> rejectedSinceEvent = new EnumMap<>(RejectReason.class);

    private NodeState state;
    private boolean suspended;
    private long now = Long.MIN_VALUE;
    private long electionDeadline = NEVER;
    private long nextAdvertAt = NEVER;
    private long preemptAllowedAt = NEVER;
    private long nextAnnounceAt = NEVER;
    private int announceRemaining;
    private long lastAssertAt = Long.MIN_VALUE;
    private List<Action> out = new ArrayList<>();

    public NodeCore(NodeSpec spec) {
        this.spec = spec;
        this.advertIntervalNanos = spec.timers().advertIntervalMs() * MS;
        for (InstanceSpec i : spec.instances()) {
            instances.add(new VrrpInstance(i, advertIntervalNanos));
            interfaces.add(i.iface());
        }
    }

    public NodeSpec spec() {
        return spec;
    }

    public NodeState state() {
        return state;
    }

    /** Effective priority: the configured one while eligible, 0 in FAULT/SUSPENDED/STOPPED. */
    public int effectivePriority() {
        return state != null && state.eligible() ? spec.priority() : 0;
    }

    /** The master-down interval this node uses for its own advert interval (the election delay default). */
    public long masterDownNanos() {
        return HaTimers.masterDownNanos(spec.priority(), advertIntervalNanos);
    }

    /** Begins the life of the node. linksDown: interfaces the kernel reports down right now. */
    public List<Action> start(long time, Set<String> initiallyDown) {
        if (state != null) {
            throw new IllegalStateException("start() called twice");
        }
        begin(time);
        for (String l : initiallyDown) {
            if (interfaces.contains(l)) {
                linksDown.add(l);
            }
        }
        // Leftovers of a crashed earlier run would answer for the VIPs next to the real active.
        for (VrrpInstance i : instances) {
            for (Cidr c : i.spec.addresses()) {
                emit(new Action.RemoveAddress(i.spec.iface(), c));
            }
        }
        event(HaEvent.Kind.INFO, spec.name() + " starting with priority " + spec.priority() + ", advert interval "
                + spec.timers().advertIntervalMs() + " ms, " + instances.size() + " VRRP instance(s); removed any "
                + "virtual address left by an earlier run");
        state = NodeState.INITIAL;
        if (!linksDown.isEmpty()) {
            transition(NodeState.FAULT, "interface(s) " + linksDown + " down at start");
        } else if (spec.owner()) {
            becomeActive("address owner (priority 255) starts as master");
        } else {
            long delay = spec.timers().electionDelayMs() >= 0 ? spec.timers().electionDelayMs() * MS : masterDownNanos();
            electionDeadline = now + delay;
            preemptAllowedAt = now + spec.timers().preemptionHoldMs() * MS;
            for (VrrpInstance i : instances) {
                i.masterDownAt = electionDeadline;
            }
            fireTimers(); // an election delay of 0 decides at once
        }
        return finish();
    }

    /** Feeds one input at the given time; returns the actions to execute, in order. */
    public List<Action> step(long time, Input input) {
        if (state == null) {
            throw new IllegalStateException("step() before start()");
        }
        begin(time);
        if (state == NodeState.STOPPED) {
            return finish();
        }
        fireTimers();
        switch (input) {
            case Input.Tick t -> { }
            case Input.PacketReceived p -> onPacket(p);
            case Input.LinkChanged l -> onLink(l);
            case Input.Command c -> onCommand(c);
            case Input.Shutdown s -> onShutdown(s);
        }
        fireTimers();
        return finish();
    }

    /** When the core next needs a Tick, or Long.MAX_VALUE. Always later than the last step's time. */
    public long nextDeadline() {
        return switch (state) {
            case INITIAL -> Math.min(Math.max(electionDeadline, allSilentAt()), releaseAt());
            case PASSIVE -> Math.min(allSilentAt(), releaseAt());
            case ACTIVE -> Math.min(nextAdvertAt, nextAnnounceAt);
            default -> NEVER;
        };
    }

    /** When every instance's master-down timer will have run out. */
    private long allSilentAt() {
        long latest = Long.MIN_VALUE;
        for (VrrpInstance i : instances) {
            latest = Math.max(latest, i.masterDownAt);
        }
        return latest;
    }

    /** When the first instance whose master released the role (priority 0) reaches its skew time. */
    private long releaseAt() {
        long release = NEVER;
        for (VrrpInstance i : instances) {
            if (i.released) {
                release = Math.min(release, i.masterDownAt);
            }
        }
        return release;
    }

    // ---------------------------------------------------------------- timers

    private void fireTimers() {
        switch (state) {
            case INITIAL -> {
                VrrpInstance r = firstReleasedSilent();
                if (r != null) {
                    becomeActive(releaseCause(r));
                } else if (now >= electionDeadline && allSilent()) {
                    becomeActive("no master heard on " + labels(instances) + " during the election delay of "
                            + ms(spec.timers().electionDelayMs() >= 0 ? spec.timers().electionDelayMs() * MS
                            : masterDownNanos()));
                }
            }
            case PASSIVE -> {
                VrrpInstance r = firstReleasedSilent();
                if (r != null) {
                    becomeActive(releaseCause(r));
                } else if (allSilent()) {
                    becomeActive(silenceCause());
                }
            }
            case ACTIVE -> {
                if (now >= nextAdvertAt) {
                    sendAdverts(spec.priority(), null);
                    nextAdvertAt += advertIntervalNanos;
                    if (nextAdvertAt <= now) { // we were not stepped in time: do not send a burst
                        nextAdvertAt = now + advertIntervalNanos;
                    }
                }
                if (now >= nextAnnounceAt) {
                    announce();
                }
            }
            default -> { }
        }
    }

    private boolean allSilent() {
        for (VrrpInstance i : instances) {
            if (!i.silentAt(now)) {
                return false;
            }
        }
        return true;
    }

    private VrrpInstance firstReleasedSilent() {
        for (VrrpInstance i : instances) {
            if (i.released && i.silentAt(now)) {
                return i;
            }
        }
        return null;
    }

    private String releaseCause(VrrpInstance i) {
        return "master " + i.masterAddress + " released the role (priority 0) on " + i.spec.label()
                + "; took over after the skew time " + ms(HaTimers.skewNanos(spec.priority(), i.masterIntervalNanos));
    }

    private String silenceCause() {
        VrrpInstance last = null;
        for (VrrpInstance i : instances) {
            if (i.masterAddress != null && (last == null || i.lastHeardAt > last.lastHeardAt)) {
                last = i;
            }
        }
        if (last == null) {
            return "no master heard on any path (" + labels(instances) + ") for the master-down interval "
                    + ms(masterDownNanos());
        }
        return "master " + last.masterAddress + " (priority " + last.masterPriority + ") silent on every path ("
                + labels(instances) + ") for " + ms(now - last.lastHeardAt) + "; master-down interval "
                + ms(HaTimers.masterDownNanos(spec.priority(), last.masterIntervalNanos));
    }

    // ---------------------------------------------------------------- inputs

    private void onPacket(Input.PacketReceived p) {
        VrrpDecodeResult r = VrrpCodec.decode(p.payload(), p.source(), p.destination(), p.ttl(), p.ipv6());
        if (r instanceof VrrpDecodeResult.Rejected rej) {
            reject(null, rej.reason(), "on " + p.iface() + ": " + rej.detail());
            return;
        }
        VrrpAdvert adv = ((VrrpDecodeResult.Accepted) r).advert();
        VrrpInstance inst = null;
        for (VrrpInstance i : instances) {
            if (i.spec.iface().equals(p.iface()) && i.spec.ipv6() == p.ipv6() && i.spec.vrid() == adv.vrid()) {
                inst = i;
                break;
            }
        }
        if (inst == null) {
            reject(null, RejectReason.UNKNOWN_VRID, "VRID " + adv.vrid() + " from " + p.source() + " on " + p.iface());
            return;
        }
        for (VrrpInstance i : instances) {
            if (i.spec.sourceAddress().equals(p.source())) {
                reject(inst, RejectReason.OWN_PACKET, "from " + p.source() + " on " + p.iface());
                return;
            }
        }
        inst.advertsReceived++;
        if (!sameAddresses(inst, adv)) {
            // RFC 5798 §7.1: log a mismatch, do not drop.
            rateLimitedWarning("addresses of VRID " + adv.vrid() + " from " + p.source() + " on " + inst.spec.label()
                    + " differ from ours: " + adv.addresses());
        }
        long interval = adv.maxAdvertIntervalCs() * 10 * MS;
        inst.masterAddress = p.source();
        inst.masterPriority = adv.priority();
        inst.masterIntervalNanos = interval;
        inst.lastHeardAt = now;
        switch (state) {
            case INITIAL, PASSIVE -> backupReceive(inst, adv, p.source());
            case ACTIVE -> masterReceive(inst, adv, p.source());
            default -> { } // FAULT / SUSPENDED: only remember who is master
        }
    }

    private void backupReceive(VrrpInstance inst, VrrpAdvert adv, IpAddress from) {
        if (adv.priority() == 0) {
            inst.released = true;
            inst.masterDownAt = now + HaTimers.skewNanos(spec.priority(), inst.masterIntervalNanos);
            return;
        }
        boolean preempting = spec.preempt() && adv.priority() < spec.priority() && now >= preemptAllowedAt;
        if (preempting) {
            return; // RFC 5798 §6.4.2: discard, so the master-down timer runs out and we take over
        }
        inst.released = false;
        inst.masterDownAt = now + HaTimers.masterDownNanos(spec.priority(), inst.masterIntervalNanos);
        if (state == NodeState.INITIAL) {
            electionDeadline = NEVER;
            enterPassive(from + " is master with priority " + adv.priority() + " on " + inst.spec.label());
        }
    }

    private void masterReceive(VrrpInstance inst, VrrpAdvert adv, IpAddress from) {
        if (adv.priority() == 0) {
            sendAdverts(spec.priority(), inst); // RFC 5798 §6.4.3: answer at once so backups learn the master
            return;
        }
        int mine = spec.priority();
        boolean theyWin = adv.priority() > mine
                || (adv.priority() == mine && from.compareTo(inst.spec.sourceAddress()) > 0);
        if (theyWin) {
            leaveActive(NodeState.PASSIVE, false, from + " is master with "
                    + (adv.priority() > mine ? "higher priority " + adv.priority() + " > " + mine
                    : "equal priority " + mine + " and a higher address")
                    + " on " + inst.spec.label());
            inst.masterDownAt = now + HaTimers.masterDownNanos(mine, inst.masterIntervalNanos);
            return;
        }
        // Two masters (a healed split, or a peer that just started): assert ourselves at once, and
        // re-announce so that neighbours that followed the other one come back.
        if (lastAssertAt == Long.MIN_VALUE || now - lastAssertAt >= advertIntervalNanos) {
            lastAssertAt = now;
            sendAdverts(mine, inst);
            announceRemaining = spec.timers().announceCount();
            nextAnnounceAt = now;
            rateLimitedWarning("another master " + from + " (priority " + adv.priority() + ") on "
                    + inst.spec.label() + ": keeping the role (priority " + mine + ") and re-announcing");
        }
    }

    private void onLink(Input.LinkChanged l) {
        if (!interfaces.contains(l.iface())) {
            return;
        }
        boolean changed = l.up() ? linksDown.remove(l.iface()) : linksDown.add(l.iface());
        if (!changed) {
            return;
        }
        if (!l.up()) {
            if (state.eligible() || state == NodeState.SUSPENDED) {
                String cause = "interface " + l.iface() + " went down";
                if (state == NodeState.ACTIVE) {
                    leaveActive(NodeState.FAULT, true, cause + "; sent priority 0 on the working segments");
                } else {
                    transition(NodeState.FAULT, cause);
                }
            }
            return;
        }
        if (state == NodeState.FAULT && linksDown.isEmpty()) {
            recover("interface " + l.iface() + " came back up; all interfaces up");
        }
    }

    private void onCommand(Input.Command c) {
        switch (c.kind()) {
            case SUSPEND -> {
                event(HaEvent.Kind.COMMAND, "suspend requested by " + c.who());
                suspended = true;
                if (state == NodeState.ACTIVE) {
                    leaveActive(NodeState.SUSPENDED, true, "suspended by " + c.who());
                } else if (state.eligible()) {
                    transition(NodeState.SUSPENDED, "suspended by " + c.who());
                }
            }
            case RESUME -> {
                event(HaEvent.Kind.COMMAND, "resume requested by " + c.who());
                if (!suspended) {
                    return;
                }
                suspended = false;
                if (state == NodeState.SUSPENDED) {
                    recover("resumed by " + c.who());
                }
            }
            case DEMOTE -> {
                event(HaEvent.Kind.COMMAND, "demote requested by " + c.who());
                if (state == NodeState.ACTIVE) {
                    leaveActive(NodeState.PASSIVE, true, "demoted by " + c.who() + "; sent priority 0");
                } else {
                    event(HaEvent.Kind.WARNING, "demote ignored: " + spec.name() + " is " + state + ", not ACTIVE");
                }
            }
        }
    }

    private void onShutdown(Input.Shutdown s) {
        if (state == NodeState.ACTIVE) {
            leaveActive(NodeState.STOPPED, true, "graceful shutdown (" + s.why() + "); sent priority 0");
        } else {
            transition(NodeState.STOPPED, "graceful shutdown (" + s.why() + ")");
        }
    }

    // ---------------------------------------------------------------- transitions

    /** Back from FAULT or SUSPENDED: the node listens again like a new backup. */
    private void recover(String cause) {
        if (!linksDown.isEmpty()) {
            transition(NodeState.FAULT, cause + "; but interface(s) " + linksDown + " still down");
            return;
        }
        if (suspended) {
            transition(NodeState.SUSPENDED, cause + "; still suspended by an operator");
            return;
        }
        if (spec.owner()) {
            becomeActive(cause + "; address owner (priority 255) takes the role at once");
            return;
        }
        preemptAllowedAt = now + spec.timers().preemptionHoldMs() * MS;
        enterPassive(cause);
    }

    private void enterPassive(String cause) {
        if (state != NodeState.INITIAL) {
            preemptAllowedAt = now + spec.timers().preemptionHoldMs() * MS;
        }
        for (VrrpInstance i : instances) {
            i.released = false;
            i.masterDownAt = now + HaTimers.masterDownNanos(spec.priority(), i.masterIntervalNanos);
        }
        transition(NodeState.PASSIVE, cause);
    }

    private void becomeActive(String cause) {
        assert linksDown.isEmpty() : "becoming ACTIVE with links down " + linksDown;
        assert !suspended : "becoming ACTIVE while suspended";
        electionDeadline = NEVER;
        transition(NodeState.ACTIVE, cause);
        for (VrrpInstance i : instances) {
            i.released = false;
            i.masterDownAt = NEVER;
            for (Cidr c : i.spec.addresses()) {
                emit(new Action.AddAddress(i.spec.iface(), c));
            }
        }
        sendAdverts(spec.priority(), null);
        nextAdvertAt = now + advertIntervalNanos;
        announceRemaining = spec.timers().announceCount();
        nextAnnounceAt = now;
        announce();
    }

    private void leaveActive(NodeState next, boolean sendZero, String cause) {
        assert state == NodeState.ACTIVE;
        if (sendZero) {
            sendAdverts(0, null);
        }
        for (VrrpInstance i : instances) {
            for (Cidr c : i.spec.addresses()) {
                emit(new Action.RemoveAddress(i.spec.iface(), c));
            }
        }
        nextAdvertAt = NEVER;
        nextAnnounceAt = NEVER;
        announceRemaining = 0;
        if (next == NodeState.PASSIVE) {
            enterPassive(cause);
        } else {
            transition(next, cause);
        }
    }

    private void transition(NodeState next, String cause) {
        NodeState prev = state;
        state = next;
        if (next != NodeState.ACTIVE) {
            nextAdvertAt = NEVER;
            nextAnnounceAt = NEVER;
        }
        if (next != NodeState.INITIAL) {
            electionDeadline = NEVER;
        }
        HaEvent e = new HaEvent(now, HaEvent.Kind.TRANSITION, spec.name(),
                spec.name() + " " + prev + " -> " + next + ": " + cause);
        recent.addLast(e);
        while (recent.size() > MAX_RECENT) {
            recent.removeFirst();
        }
        emit(new Action.Record(e));
    }

    // ---------------------------------------------------------------- output helpers

    /** Sends an advert with the given priority on one instance, or on every instance whose link is up. */
    private void sendAdverts(int priority, VrrpInstance only) {
        for (VrrpInstance i : instances) {
            if ((only != null && i != only) || linksDown.contains(i.spec.iface())) {
                continue;
            }
            List<IpAddress> vips = new ArrayList<>(i.spec.addresses().size());
            for (Cidr c : i.spec.addresses()) {
                vips.add(c.address());
            }
            VrrpAdvert adv = new VrrpAdvert(i.spec.vrid(), priority, spec.timers().advertIntervalCs(), vips, true);
            byte[] bytes = VrrpCodec.encode(adv, i.spec.sourceAddress(), spec.checksumMode());
            emit(new Action.SendAdvert(i.spec.iface(), i.spec.ipv6(), i.spec.sourceAddress(), bytes, priority));
            i.advertsSent++;
        }
    }

    private void announce() {
        // One round per interface, IPv4 and IPv6 addresses together.
        Map<String, List<IpAddress>> byIface = new LinkedHashMap<>();
        for (VrrpInstance i : instances) {
            for (Cidr c : i.spec.addresses()) {
                byIface.computeIfAbsent(i.spec.iface(), k -> new ArrayList<>()).add(c.address());
            }
        }
        byIface.forEach((iface, list) -> emit(new Action.Announce(iface, List.copyOf(list))));
        if (announceRemaining > 0) {
            announceRemaining--;
        }
        if (announceRemaining > 0) {
            nextAnnounceAt = now + spec.timers().announceSpacingMs() * MS;
        } else if (spec.timers().announceRefreshMs() > 0) {
            announceRemaining = 1;
            nextAnnounceAt = now + spec.timers().announceRefreshMs() * MS;
        } else {
            nextAnnounceAt = NEVER;
        }
    }

    private void reject(VrrpInstance inst, RejectReason reason, String detail) {
        rejected.merge(reason, 1L, Long::sum);
        if (inst != null) {
            inst.rejected.merge(reason, 1L, Long::sum);
        }
        rejectedSinceEvent.merge(reason, 1L, Long::sum);
        Long last = lastRejectEvent.get(reason);
        if (last == null || now - last >= REJECT_EVENT_SPACING) {
            long n = rejectedSinceEvent.remove(reason);
            lastRejectEvent.put(reason, now);
            event(HaEvent.Kind.REJECTED_PACKET, "rejected VRRP packet " + detail + ": " + reason.text()
                    + (n > 1 ? " (" + n + " such since the last report)" : ""));
        }
    }

    private long lastWarningAt = Long.MIN_VALUE;

    private void rateLimitedWarning(String text) {
        if (lastWarningAt == Long.MIN_VALUE || now - lastWarningAt >= REJECT_EVENT_SPACING) {
            lastWarningAt = now;
            event(HaEvent.Kind.WARNING, text);
        }
    }

    private static boolean sameAddresses(VrrpInstance inst, VrrpAdvert adv) {
        if (adv.addresses().size() != inst.spec.addresses().size()) {
            return false;
        }
        for (Cidr c : inst.spec.addresses()) {
            if (!adv.addresses().contains(c.address())) {
                return false;
            }
        }
        return true;
    }

    private void event(HaEvent.Kind kind, String text) {
        emit(new Action.Record(new HaEvent(now, kind, spec.name(), text)));
    }

    private void emit(Action a) {
        out.add(a);
    }

    private void begin(long time) {
        if (time < now) {
            throw new IllegalArgumentException("time went backwards: " + time + " < " + now);
        }
        now = time;
        out = new ArrayList<>();
    }

    private List<Action> finish() {
        assert state != NodeState.ACTIVE || linksDown.isEmpty() : "ACTIVE with links down " + linksDown;
        assert state != NodeState.ACTIVE || !suspended : "ACTIVE while suspended";
        assert state == NodeState.ACTIVE || nextAdvertAt == NEVER : state + " with an advert timer running";
        assert state != NodeState.FAULT || !linksDown.isEmpty() : "FAULT with every link up";
        assert state != NodeState.ACTIVE || nextAdvertAt > now : "advert timer in the past";
        assert nextDeadline() > now : state + ": next deadline not in the future";
        List<Action> result = out;
        out = new ArrayList<>();
        return result;
    }

    private static String labels(List<VrrpInstance> list) {
        StringBuilder sb = new StringBuilder();
        for (VrrpInstance i : list) {
            if (!sb.isEmpty()) {
                sb.append(", ");
            }
            sb.append(i.spec.label());
        }
        return sb.toString();
    }

    /** "32.2 ms" — by hand: String.format is slow the first time, and this runs during a takeover. */
    static String ms(long nanos) {
        long tenths = (nanos + 50_000) / 100_000;
        return (tenths / 10) + "." + (tenths % 10) + " ms";
    }

    // ---------------------------------------------------------------- status

    public NodeStatus status() {
        List<NodeStatus.InstanceStatus> list = new ArrayList<>();
        for (VrrpInstance i : instances) {
            String role = switch (state) {
                case ACTIVE -> "MASTER";
                case INITIAL, PASSIVE -> "BACKUP";
                default -> "INIT";
            };
            String master = state == NodeState.ACTIVE ? "self (" + i.spec.sourceAddress() + ")"
                    : i.masterAddress == null ? "-" : i.masterAddress.toString();
            long rej = i.rejected.values().stream().mapToLong(Long::longValue).sum();
            list.add(new NodeStatus.InstanceStatus(i.spec.label(), i.spec.vrid(), role, master,
                    state == NodeState.ACTIVE ? spec.priority() : i.masterPriority, i.advertsSent,
                    i.advertsReceived, rej));
        }
        Map<String, Long> rej = new LinkedHashMap<>();
        rejected.forEach((k, v) -> rej.put(k.name(), v));
        return new NodeStatus(spec.name(), state, spec.priority(), effectivePriority(), list,
                List.copyOf(recent), rej);
    }
}
