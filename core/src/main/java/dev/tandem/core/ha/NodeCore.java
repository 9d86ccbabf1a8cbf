package dev.tandem.core.ha;

import dev.tandem.core.health.HealthMonitors;
import dev.tandem.core.health.HealthSpec;
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

    // dedicated heartbeat paths (control link, backup link)
    private final PeerLinks links;
    private final long heartbeatNanos;
    private final long heartbeatWindow;
    private final Map<String, Map<String, PathView>> paths = new LinkedHashMap<>();
    private long nextHeartbeatAt = NEVER;
    private boolean advertsSilentAlarm;

    // health monitors (SPEC §3) and the FAULT / flap-max rules
    private final HealthMonitors health;
    private HealthMonitors.Verdict verdict;
    private int penalty;
    private final Map<String, String> heldNoted = new LinkedHashMap<>();
    /** When every FAULT cause cleared (NEVER: a cause is present, or not in FAULT). */
    private long faultClearedAt = NEVER;
    private int flapCount;
    private long lastFaultEntryAt = Long.MIN_VALUE;
    private boolean flapSuspended;
    /** Session sync as the node reports it; null: no session sync on this node. */
    private Input.SessionSyncState sessions;
    /** The commit a takeover waits for before it adds the addresses (NO_COMMIT: none); ids never repeat. */
    private long commitPending = NO_COMMIT;
    private long lastCommitId;
    private static final long NO_COMMIT = 0;
    /**
     * While a takeover's commit runs, the first adverts wait this long: a commit answered within it
     * (a small table, written inline) keeps the order addresses, GARP, adverts; a longer one has the
     * adverts and heartbeats go out meanwhile, so no peer takes the role for silence.
     */
    static final long COMMIT_ADVERT_GRACE_NANOS = 1_000_000L;
    /** The addresses were added and not yet removed (a takeover still committing holds none). */
    private boolean addressesHeld;

    /** When the caller was asked to step next (nextDeadline() after the last step); NEVER: no timer. */
    private long dueAfterLastStep = NEVER;
    /** A step this much after its deadline means this node was held up (a wake-up is never exact). */
    private static final long OWN_STALL_MIN_NANOS = 500_000L;
    /** After being held up, how long this node listens before it judges anyone silent. */
    static final long STALL_GRACE_NANOS = 1_000_000L;
    /** No promotion or election by silence before this (see STALL_GRACE_NANOS). */
    private long silenceJudgedFrom = Long.MIN_VALUE;

    /** What this node knows of one peer on one dedicated path. */
    /** How late the active's heartbeats have come lately: sizes the advert silence window. */
    private final HeartbeatJitter jitter;

    private static final class PathView {
        final String peer;
        final String path;
        long lastAt = Long.MIN_VALUE;
        long lastActiveAt = Long.MIN_VALUE;
        boolean alive;
        /** What the operator was last told (alarms wait a little longer than the logic, against flapping). */
        boolean reportedAlive;
        boolean closed;
        NodeState peerState;
        int peerPriority;

        PathView(String peer, String path) {
            this.peer = peer;
            this.path = path;
        }

        /** Until when this path shows the peer as ACTIVE (MIN: it does not). */
        long activeUntil(long window) {
            return closed || lastActiveAt == Long.MIN_VALUE ? Long.MIN_VALUE : lastActiveAt + window;
        }
    }

    public NodeCore(NodeSpec spec) {
        this.spec = spec;
        this.links = spec.links();
        this.heartbeatNanos = links.heartbeatIntervalMs() * MS;
        this.heartbeatWindow = links.heartbeatMisses() * heartbeatNanos;
        if (links.enabled()) {
            for (String peer : links.peers()) {
                Map<String, PathView> m = new LinkedHashMap<>();
                for (String path : links.paths()) {
                    m.put(path, new PathView(peer, path));
                }
                paths.put(peer, m);
            }
        }
        this.advertIntervalNanos = spec.timers().advertIntervalMs() * MS;
        this.jitter = new HeartbeatJitter(HaTimers.masterDownNanos(spec.priority(), advertIntervalNanos));
        this.health = new HealthMonitors(spec.health());
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

    /**
     * Effective priority: the configured one minus the weights of failed monitors while eligible (at
     * least 1), 0 in FAULT/SUSPENDED/STOPPED.
     */
    public int effectivePriority() {
        return state != null && state.eligible() ? electionPriority() : 0;
    }

    /** The priority this node stands for election with: configured minus monitor weights, at least 1. */
    private int electionPriority() {
        return penalty == 0 ? spec.priority() : Math.max(1, Math.min(254, spec.priority() - penalty));
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
        health.start(now, initiallyDown);
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
        if (links.enabled()) {
            nextHeartbeatAt = now;
        }
        for (VrrpInstance i : instances) {
            i.lastRespectedAt = now;
        }
        if (!linksDown.isEmpty()) {
            transition(NodeState.FAULT, "interface(s) " + linksDown + " down at start");
            faultClearedAt = NEVER;
        } else if (spec.owner()) {
            becomeActive("address owner (priority 255) starts as master");
        } else {
            long delay = spec.timers().electionDelayMs() >= 0 ? spec.timers().electionDelayMs() * MS : masterDownNanos();
            electionDeadline = now + delay;
            preemptAllowedAt = now + spec.timers().preemptionHoldMs() * MS;
            for (VrrpInstance i : instances) {
                i.masterDownAt = electionDeadline;
            }
        }
        fireTimers(); // the first heartbeat; an election delay of 0 decides at once
        return finish();
    }

    /** Feeds one input at the given time; returns the actions to execute, in order. */
    public List<Action> step(long time, Input input) {
        if (state == null) {
            throw new IllegalStateException("step() before start()");
        }
        long lastStepAt = now;
        begin(time);
        if (state == NodeState.STOPPED) {
            return finish();
        }
        boolean stalled = dueAfterLastStep != NEVER && now - dueAfterLastStep > OWN_STALL_MIN_NANOS;
        if (stalled) {
            // not stepped at the deadline it asked for: this node itself was held up until now, from some
            // moment after its last step; taken as no earlier than the delay's own length before the
            // deadline, so a wake-up a little late is not taken for a stall since the last step
            long late = now - dueAfterLastStep;
            jitter.ownStall(Math.max(lastStepAt, dueAfterLastStep - late), now);
            // and its readers may have been held up with it: what arrived meanwhile is heard before any
            // "silent" verdict (a cold JVM on a busy host once took the role at start-up with the
            // peer's adverts unread; a shared stall resumes both nodes at once)
            silenceJudgedFrom = now + STALL_GRACE_NANOS;
        }
        if (!stalled || !(input instanceof Input.Heartbeat || input instanceof Input.PacketReceived)) {
            fireTimers();
        } // else: a node held up past its deadlines hears what arrived first; its silence was partly its own
        switch (input) {
            case Input.Tick t -> { }
            case Input.PacketReceived p -> onPacket(p);
            case Input.LinkChanged l -> onLink(l);
            case Input.Command c -> onCommand(c);
            case Input.Shutdown s -> onShutdown(s);
            case Input.Heartbeat h -> onHeartbeat(h);
            case Input.ChannelClosed c -> onChannelClosed(c);
            case Input.PeerReleased r -> onPeerReleased(r);
            case Input.ProbeResult p -> healthEvents(health.onProbe(now, p.group(), p.destination(), p.ok(), p.error()), true);
            case Input.CheckResult c -> healthEvents(health.onCheck(now, c.check(), c.ok(), c.detail()), false);
            case Input.PeerHealth h -> health.onPeerReport(h.peer(), h.pathGroups());
            case Input.SessionSyncState st -> sessions = st;
            case Input.SessionsCommitted c -> onSessionsCommitted(c);
        }
        fireTimers();
        return finish();
    }

    /**
     * True if a Tick at {@code at} would make this node ACTIVE because nobody was heard: a PASSIVE
     * node whose active is silent on every path, or an INITIAL one at the end of its election delay,
     * and not within the grace after a stall of its own (STALL_GRACE_NANOS).
     */
    public boolean promotionBySilenceDue(long at) {
        return at >= silenceJudgedFrom && switch (state) {
            case PASSIVE -> at >= plus(promotionAt(), spec.timers().promotionHoldMs() * MS);
            case INITIAL -> at >= electionDeadline && at >= allSilentAt() && at >= linksSilentAt();
            default -> false;
        };
    }

    /** When the core next needs a Tick, or Long.MAX_VALUE. Always later than the last step's time. */
    public long nextDeadline() {
        long d = switch (state) {
            case INITIAL -> Math.min(Math.max(Math.max(Math.max(electionDeadline, allSilentAt()), linksSilentAt()),
                    silenceJudgedFrom), releaseAt());
            case PASSIVE -> Math.min(Math.max(plus(promotionAt(), spec.timers().promotionHoldMs() * MS), silenceJudgedFrom),
                    releaseAt());
            case ACTIVE -> Math.min(nextAdvertAt, nextAnnounceAt);
            case FAULT -> faultClearedAt == NEVER ? NEVER : plus(faultClearedAt, spec.health().monitorFailHoldDownMs() * MS);
            default -> NEVER;
        };
        if (state != NodeState.STOPPED) {
            d = Math.min(d, verdict == null ? NEVER : verdict.nextChangeAt());
            d = Math.min(d, nextHeartbeatAt);
            for (Map<String, PathView> m : paths.values()) {
                for (PathView v : m.values()) {
                    if (v.alive) {
                        d = Math.min(d, v.lastAt + heartbeatWindow);
                    }
                    if (v.reportedAlive && !v.closed) {
                        d = Math.min(d, v.lastAt + reportDelay());
                    }
                }
            }
        }
        return d;
    }

    /** When no dedicated path shows any peer as ACTIVE any more (MIN: none does now). */
    private long linksSilentAt() {
        long latest = Long.MIN_VALUE;
        for (Map<String, PathView> m : paths.values()) {
            for (PathView v : m.values()) {
                latest = Math.max(latest, v.activeUntil(heartbeatWindow));
            }
        }
        return latest;
    }

    /**
     * The silence of the adverts is corroborated when a dedicated path showed a peer ACTIVE within a
     * master-down interval of its last advert: the peer was alive on the links, and now is silent
     * there too. Then a shorter advert silence is enough; otherwise the RFC master-down interval.
     */
    private boolean corroborated() {
        if (!links.enabled()) {
            return false;
        }
        long lastAdvert = Long.MIN_VALUE;
        for (VrrpInstance i : instances) {
            lastAdvert = Math.max(lastAdvert, i.lastRespectedAt);
        }
        for (Map<String, PathView> m : paths.values()) {
            for (PathView v : m.values()) {
                if (v.lastActiveAt != Long.MIN_VALUE && v.lastActiveAt >= lastAdvert - masterDownNanos()) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * How long adverts must be silent on every segment once the dedicated links are silent too (see
     * {@link #corroborated}; without links it is the RFC master-down interval). `timers.advert_silence_ms`
     * overrides. Default: adaptive, between one advert interval + skew + 1 ms (a quiet pair) and two
     * intervals + skew (a busy one, and until the active's heartbeats have been seen for 5 s): one
     * interval + skew + twice the worst lateness of the active's heartbeats in the last 30 s + 1 ms.
     *
     * <p>Why adaptive. Two intervals + skew (the default until 2026-11-23) gave a host-crash outage of
     * 15-23 ms (median 17.6); one interval + skew gave 7-13 ms (median 11.6) on a quiet lab host, but
     * on a 2-core host at load 8 the active's real-time loop still ran up to 9.5 ms late (safepoints
     * waiting for ordinary threads to reach them, a non-preemptible kernel) and the passive took over
     * falsely 11-18 times a minute. Earlier tries of fixed short windows (before the failover path ran
     * SCHED_FIFO, and with it) failed the same way. The heartbeats, every few milliseconds from the
     * active's loop, measure exactly that lateness, so the window is as short as the pair's recent
     * behaviour allows and never longer than the old default.
     */
    private long advertSilenceNanos() {
        if (links.advertSilenceMs() >= 0) {
            return links.advertSilenceMs() * MS;
        }
        long skew = contendingSkewNanos();
        long cap = 2 * advertIntervalNanos + skew;
        if (!jitter.established(now)) {
            return cap;
        }
        long lateness = Math.max(0, jitter.recentMax(now) - heartbeatNanos);
        return Math.min(cap, advertIntervalNanos + skew + 2 * lateness + MS);
    }

    /**
     * The RFC's skew time staggers several backups so that the one with the highest priority takes
     * over first. A node with a single peer has no other backup to stagger against once that peer
     * (the active) is silent everywhere, so in a pair the skew only lengthened every outage (2.2 ms at
     * 10 ms adverts and priority 200); with two or more peers it is kept.
     */
    private long contendingSkewNanos() {
        return links.peers().size() > 1 ? HaTimers.skewNanos(spec.priority(), advertIntervalNanos) : 0;
    }

    /** PASSIVE: when the active counts as silent on every path. */
    private long promotionAt() {
        long adverts = allSilentAt();
        if (corroborated()) {
            long lastRespected = Long.MIN_VALUE;
            for (VrrpInstance i : instances) {
                lastRespected = Math.max(lastRespected, i.lastRespectedAt);
            }
            adverts = Math.min(adverts, lastRespected + advertSilenceNanos());
        }
        return Math.max(adverts, linksSilentAt());
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
        if (state != NodeState.STOPPED) {
            if (now >= nextHeartbeatAt) {
                emit(new Action.SendHeartbeat(state, effectivePriority()));
                nextHeartbeatAt += heartbeatNanos;
                if (nextHeartbeatAt <= now) {
                    nextHeartbeatAt = now + heartbeatNanos;
                }
            }
            checkPaths();
            judgeHealth();
        }
        switch (state) {
            case INITIAL -> {
                VrrpInstance r = firstReleasedSilent();
                if (r != null) {
                    becomeActive(releaseCause(r));
                    staleRivalsUntil = now + advertIntervalNanos;
                } else if (now >= electionDeadline && allSilent() && now >= linksSilentAt() && now >= silenceJudgedFrom) {
                    becomeActive("no master heard on " + labels(instances) + " during the election delay of "
                            + ms(spec.timers().electionDelayMs() >= 0 ? spec.timers().electionDelayMs() * MS
                            : masterDownNanos()));
                }
            }
            case PASSIVE -> {
                VrrpInstance r = firstReleasedSilent();
                if (r != null) {
                    becomeActive(releaseCause(r));
                    staleRivalsUntil = now + advertIntervalNanos;
                } else if (now >= plus(promotionAt(), spec.timers().promotionHoldMs() * MS) && now >= silenceJudgedFrom) {
                    becomeActive(links.enabled() ? allPathsCause() : silenceCause());
                } else if (allSilent() && !advertsSilentAlarm) {
                    advertsSilentAlarm = true;
                    event(HaEvent.Kind.ALARM, spec.name() + ": no advert on any segment for the master-down interval, "
                            + "but " + activePeerPaths() + " still show the active alive: staying PASSIVE");
                }
            }
            case ACTIVE -> {
                if (now >= nextAdvertAt) {
                    sendAdverts(electionPriority(), null);
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

    private boolean staleRival() {
        return now < staleRivalsUntil;
    }

    private String releaseCause(VrrpInstance i) {
        return "master " + i.masterAddress + " released the role (priority 0) on " + i.spec.label()
                + (releasedAtOnce ? "; took over at once: every peer is heard on the dedicated links and none waits "
                + "with a higher priority" : "; took over after the skew time "
                + ms(HaTimers.skewNanos(spec.priority(), i.masterIntervalNanos)));
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

    private String allPathsCause() {
        long lastRespected = Long.MIN_VALUE;
        for (VrrpInstance i : instances) {
            lastRespected = Math.max(lastRespected, i.lastRespectedAt);
        }
        return "active silent on every path: heartbeats missed on " + String.join(", ", links.paths())
                + " and no advert on any segment for " + ms(now - lastRespected)
                + (corroborated() ? " (advert silence window " + ms(advertSilenceNanos()) + ")"
                : " (master-down interval " + ms(masterDownNanos()) + ")");
    }

    private String activePeerPaths() {
        List<String> l = new ArrayList<>();
        for (Map<String, PathView> m : paths.values()) {
            for (PathView v : m.values()) {
                if (v.activeUntil(heartbeatWindow) > now) {
                    l.add(v.path + " link (" + v.peer + ")");
                }
            }
        }
        return l.isEmpty() ? "no dedicated path" : String.join(", ", l);
    }

    /** Silence long enough to tell the operator: at least 200 ms, so scheduling hiccups do not flap alarms. */
    private long reportDelay() {
        return Math.max(heartbeatWindow, 200 * MS);
    }

    /** Marks paths silent whose heartbeats stopped; alarms name the dead path once it stays silent. */
    private void checkPaths() {
        for (Map<String, PathView> m : paths.values()) {
            for (PathView v : m.values()) {
                if (v.alive && now >= v.lastAt + heartbeatWindow) {
                    v.alive = false;
                }
                if (v.reportedAlive && (v.closed || now >= v.lastAt + reportDelay())) {
                    v.reportedAlive = false;
                    pathLost(v, v.closed ? "channel closed" : "no heartbeat for " + ms(now - v.lastAt));
                }
            }
        }
    }

    private void pathLost(PathView v, String why) {
        boolean advertsFlow = false;
        for (VrrpInstance i : instances) {
            advertsFlow |= i.lastHeardAt >= 0 && now - i.lastHeardAt < masterDownNanos();
        }
        String tail = state == NodeState.PASSIVE && advertsFlow ? "; adverts still arrive: staying PASSIVE" : "";
        event(HaEvent.Kind.ALARM, spec.name() + ": " + v.path + " link to " + v.peer + " is silent (" + why + ")" + tail);
    }

    private void onHeartbeat(Input.Heartbeat h) {
        Map<String, PathView> m = paths.get(h.peer());
        PathView v = m == null ? null : m.get(h.path());
        if (v == null) {
            return; // a peer or path we do not know: the channel layer already refused it
        }
        if (h.peerState() == NodeState.ACTIVE && v.lastActiveAt != Long.MIN_VALUE && v.lastAt != Long.MIN_VALUE
                && state != NodeState.ACTIVE) {
            jitter.gap(now, now - v.lastAt);
        }
        v.lastAt = now;
        v.peerState = h.peerState();
        v.peerPriority = h.peerPriority();
        v.closed = false;
        if (h.peerState() == NodeState.ACTIVE) {
            v.lastActiveAt = now;
        } else {
            v.lastActiveAt = Long.MIN_VALUE; // it says it is not active: its heartbeats hold nothing off
        }
        v.alive = true;
        if (!v.reportedAlive) {
            v.reportedAlive = true;
            event(HaEvent.Kind.INFO, spec.name() + ": " + v.path + " link to " + v.peer + " is up (heartbeats, peer "
                    + h.peerState() + ")");
            if (health.hasCompareGroups()) {
                emit(new Action.SendHealth(health.compareReport())); // the peer compares with what we reach
            }
        }
        if (h.peerState() != NodeState.ACTIVE) {
            return;
        }
        if (state == NodeState.INITIAL) {
            electionDeadline = NEVER;
            enterPassive(h.peer() + " is ACTIVE (priority " + h.peerPriority() + ", heard on the " + h.path() + " link)");
        } else if (state == NodeState.ACTIVE) {
            // two actives that can hear each other on a dedicated path: the election rules pick one
            boolean theyWin = h.peerPriority() > electionPriority()
                    || (h.peerPriority() == electionPriority() && h.peer().compareTo(spec.name()) > 0);
            if (theyWin && staleRival()) {
                return; // sent before its release reached us
            }
            if (theyWin) {
                leaveActive(NodeState.PASSIVE, true, h.peer() + " is also ACTIVE with priority " + h.peerPriority()
                        + " > " + electionPriority() + " (heard on the " + h.path() + " link)");
            } else if (lastAssertAt == Long.MIN_VALUE || now - lastAssertAt >= advertIntervalNanos) {
                lastAssertAt = now;
                sendAdverts(electionPriority(), null);
                announceAgain();
                rateLimitedWarning(h.peer() + " is also ACTIVE (priority " + h.peerPriority() + ", " + h.path()
                        + " link): keeping the role and re-announcing");
            }
        }
    }

    private void onChannelClosed(Input.ChannelClosed c) {
        Map<String, PathView> m = paths.get(c.peer());
        PathView v = m == null ? null : m.get(c.path());
        if (v == null || v.closed) {
            return;
        }
        v.closed = true;
        v.alive = false;
        if (v.reportedAlive) {
            v.reportedAlive = false;
            pathLost(v, "channel closed: " + c.why());
        }
    }

    private void onPeerReleased(Input.PeerReleased r) {
        Map<String, PathView> m = paths.get(r.peer());
        if (m == null) {
            return;
        }
        for (PathView v : m.values()) {
            v.lastActiveAt = Long.MIN_VALUE;
        }
        event(HaEvent.Kind.INFO, r.peer() + " released the active role over the channel: " + r.why());
        if (state == NodeState.ACTIVE) {
            reannounce(r.peer() + " released a role " + spec.name() + " holds");
            return;
        }
        if (state != NodeState.PASSIVE && state != NodeState.INITIAL) {
            return;
        }
        if (bestSuccessor(r.peer())) {
            becomeActive(r.peer() + " released the role over the channel (" + r.why() + "); " + spec.name()
                    + " has the highest priority of the eligible nodes and takes over at once");
            staleRivalsUntil = now + advertIntervalNanos;
        } else {
            for (VrrpInstance i : instances) { // like priority 0: the best one goes first, after its skew
                i.released = true;
                i.masterDownAt = Math.min(i.masterDownAt, now + HaTimers.skewNanos(spec.priority(), i.masterIntervalNanos));
            }
        }
    }

    private boolean releasedAtOnce;
    /**
     * After taking over on a release, adverts and heartbeats the old master sent before its release
     * may still be in flight or unread (another interface, another socket): for one advert interval
     * they are stale, not a rival (a link-down bench run lost 22 ms yielding to such an advert and
     * waiting a master-down interval). A real rival keeps advertising and wins after this interval.
     */
    private long staleRivalsUntil = Long.MIN_VALUE;

    /**
     * Every peer is heard on a dedicated link, and none waiting as PASSIVE/INITIAL has a higher
     * priority (the one that releases says ACTIVE until it is gone).
     */
    private boolean bestKnownSuccessor() {
        // pairs only: with three or more nodes, priority 0 also comes from nodes yielding to a higher
        // master, and jumping at those made takeover storms in the simulator (seed 656: 4 nodes)
        if (!links.enabled() || paths.size() != 1) {
            return false;
        }
        for (Map<String, PathView> m : paths.values()) {
            boolean heard = false;
            for (PathView v : m.values()) {
                if (v.alive) {
                    heard = true;
                    if ((v.peerState == NodeState.PASSIVE || v.peerState == NodeState.INITIAL)
                            && v.peerPriority > electionPriority()) {
                        return false;
                    }
                }
            }
            if (!heard) {
                return false;
            }
        }
        return true;
    }

    /** Whether no other live, eligible peer (except the one that left) has a higher priority. */
    private boolean bestSuccessor(String leaving) {
        for (Map.Entry<String, Map<String, PathView>> e : paths.entrySet()) {
            if (e.getKey().equals(leaving)) {
                continue;
            }
            for (PathView v : e.getValue().values()) {
                if (v.alive && v.peerState != null && v.peerState.eligible() && v.peerPriority > electionPriority()) {
                    return false;
                }
            }
        }
        return true;
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
            // the skew keeps several backups from jumping at once; with every peer heard on the
            // dedicated links this node knows it is the best successor and need not wait
            releasedAtOnce = bestKnownSuccessor();
            inst.masterDownAt = now + (releasedAtOnce ? 0 : HaTimers.skewNanos(spec.priority(), inst.masterIntervalNanos));
            return;
        }
        // a node without a complete copy of the sessions would cut flows by taking the role back
        boolean preempting = spec.preempt() && adv.priority() < electionPriority() && now >= preemptAllowedAt
                && (sessions == null || sessions.complete());
        if (preempting) {
            // RFC 5798 §6.4.2 discards the advert and lets the master-down timer run out; the outcome is
            // the same, sooner: the master has a lower priority and the hold has passed.
            assert now >= preemptAllowedAt : "preempting before the hold";
            becomeActive("preempting " + from + " (priority " + adv.priority() + " < " + electionPriority() + ") on "
                    + inst.spec.label() + " after the preemption hold of " + ms(spec.timers().preemptionHoldMs() * MS));
            return;
        }
        inst.released = false;
        inst.lastRespectedAt = now;
        advertsSilentAlarm = false;
        inst.masterDownAt = now + HaTimers.masterDownNanos(spec.priority(), inst.masterIntervalNanos);
        if (state == NodeState.INITIAL) {
            electionDeadline = NEVER;
            enterPassive(from + " is master with priority " + adv.priority() + " on " + inst.spec.label());
        }
    }

    private void masterReceive(VrrpInstance inst, VrrpAdvert adv, IpAddress from) {
        if (adv.priority() == 0) {
            sendAdverts(electionPriority(), inst); // RFC 5798 §6.4.3: answer at once so backups learn the master
            // another node just gave up a role we hold (a healed split): neighbours may still point at it
            reannounce(from + " released (priority 0) on " + inst.spec.label() + " while " + spec.name() + " is master");
            return;
        }
        int mine = electionPriority();
        boolean theyWin = adv.priority() > mine
                || (adv.priority() == mine && from.compareTo(inst.spec.sourceAddress()) > 0);
        if (theyWin && staleRival()) {
            return; // sent before its release reached us
        }
        if (theyWin) {
            // priority 0 on the way out: the winner learns at once that the split is over and re-announces
            leaveActive(NodeState.PASSIVE, true, from + " is master with "
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
            announceAgain();
            rateLimitedWarning("another master " + from + " (priority " + adv.priority() + ") on "
                    + inst.spec.label() + ": keeping the role (priority " + mine + ") and re-announcing");
        }
    }

    /** Sends the GARP/NA rounds again so that neighbours that followed another node come back. */
    private void reannounce(String why) {
        announceAgain();
        rateLimitedWarning(why + ": re-announcing the virtual addresses");
    }

    private void onLink(Input.LinkChanged l) {
        healthEvents(health.onLink(now, l.iface(), l.up()), false);
        if (!interfaces.contains(l.iface())) {
            return;
        }
        boolean changed = l.up() ? linksDown.remove(l.iface()) : linksDown.add(l.iface());
        if (changed && !l.up() && state.eligible()) {
            // no hold timer: this node can no longer speak on that segment
            enterFault("interface " + l.iface() + " of a virtual group went down");
        }
        // coming back up: judgeHealth() leaves FAULT once every cause cleared and the hold down passed
    }

    private void healthEvents(List<String> texts, boolean shareCompare) {
        for (String t : texts) {
            event(HaEvent.Kind.MONITOR, spec.name() + ": " + t);
        }
        if (shareCompare && !texts.isEmpty() && health.hasCompareGroups()) {
            emit(new Action.SendHealth(health.compareReport()));
        }
    }

    /** Whether a peer is heard on any dedicated path now. */
    private boolean peerAlive(String peer) {
        Map<String, PathView> m = paths.get(peer);
        if (m != null) {
            for (PathView v : m.values()) {
                if (v.alive) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The monitors' verdict applied to the node: FAULT, priority penalty, hold down, handover. */
    private void judgeHealth() {
        verdict = health.evaluate(now, state == NodeState.ACTIVE, this::peerAlive);
        for (Map.Entry<String, String> e : verdict.held().entrySet()) {
            if (!e.getValue().equals(heldNoted.get(e.getKey()))) {
                event(HaEvent.Kind.MONITOR, spec.name() + ": " + e.getValue());
            }
        }
        heldNoted.keySet().retainAll(verdict.held().keySet());
        heldNoted.putAll(verdict.held());
        if (verdict.penalty() != penalty) {
            int before = electionPriority();
            penalty = verdict.penalty();
            event(HaEvent.Kind.INFO, spec.name() + ": effective priority " + before + " -> " + electionPriority()
                    + (penalty == 0 ? " (every weighted monitor up)" : ": " + verdict.weightText()));
        }
        boolean faulty = !linksDown.isEmpty() || !verdict.faults().isEmpty();
        if (faulty) {
            faultClearedAt = NEVER;
            if (state.eligible()) {
                enterFault(verdict.faults().isEmpty() ? "interface(s) " + linksDown + " down" : verdict.faultText());
            }
            return;
        }
        if (state == NodeState.FAULT) {
            if (faultClearedAt == NEVER) {
                faultClearedAt = now;
            }
            long holdDown = spec.health().monitorFailHoldDownMs() * MS;
            if (now >= plus(faultClearedAt, holdDown)) {
                recover("every monitor and interface up" + (holdDown > 0 ? " for the monitor fail hold down of "
                        + ms(holdDown) : ""));
            }
            return;
        }
        if (state == NodeState.ACTIVE && penalty > 0) {
            handOverIfOutranked();
        }
    }

    /**
     * A weighted monitor lowered this active node below a live, healthy passive peer: hand the role
     * over (a health decision, not preemption, so it happens with preemption off too). Only while a
     * penalty applies: a passive peer with a higher configured priority alone never takes the role
     * without preemption.
     */
    private void handOverIfOutranked() {
        int mine = electionPriority();
        for (Map<String, PathView> m : paths.values()) {
            for (PathView v : m.values()) {
                if (v.alive && v.peerState == NodeState.PASSIVE && v.peerPriority > mine) {
                    leaveActive(NodeState.PASSIVE, true, v.peer + " has priority " + v.peerPriority
                            + " > effective priority " + mine + " of " + spec.name() + " (" + verdict.weightText()
                            + "); handing over");
                    return;
                }
            }
        }
    }

    /**
     * Enters FAULT (from an eligible state), counting flaps: at the flap max the node goes
     * SUSPENDED instead, until an operator resumes it.
     */
    private void enterFault(String cause) {
        assert state.eligible();
        HealthSpec h = spec.health();
        if (lastFaultEntryAt != Long.MIN_VALUE && now - lastFaultEntryAt >= h.flapQuietMs() * MS) {
            flapCount = 0; // quiet long enough: the count clears
        }
        boolean chained = lastFaultEntryAt != Long.MIN_VALUE && now - lastFaultEntryAt <= h.flapWindowMs() * MS;
        flapCount = chained ? flapCount + 1 : 1;
        lastFaultEntryAt = now;
        NodeState next = NodeState.FAULT;
        String text = cause;
        if (h.flapMax() > 0 && flapCount >= h.flapMax()) {
            flapSuspended = true;
            next = NodeState.SUSPENDED;
            text = cause + "; entered FAULT " + flapCount + " times, each within " + minutes(h.flapWindowMs())
                    + " of the previous (flap max " + h.flapMax() + "): SUSPENDED until `tandem resume`";
        }
        faultClearedAt = NEVER;
        if (state == NodeState.ACTIVE) {
            leaveActive(next, true, text + "; sent priority 0 on the working segments");
        } else {
            transition(next, text);
        }
    }

    private void onCommand(Input.Command c) {
        switch (c.kind()) {
            case SUSPEND -> {
                emit(new Action.Record(new HaEvent(now, HaEvent.Kind.COMMAND, spec.name(), "suspend requested by " + c.who(), c.who())));
                suspended = true;
                if (state == NodeState.ACTIVE) {
                    leaveActive(NodeState.SUSPENDED, true, "suspended by " + c.who());
                } else if (state.eligible()) {
                    transition(NodeState.SUSPENDED, "suspended by " + c.who());
                }
            }
            case RESUME -> {
                emit(new Action.Record(new HaEvent(now, HaEvent.Kind.COMMAND, spec.name(), "resume requested by " + c.who(), c.who())));
                if (!suspended && !flapSuspended) {
                    return;
                }
                if (flapSuspended) {
                    event(HaEvent.Kind.INFO, spec.name() + ": flap count (" + flapCount + ") cleared by " + c.who());
                }
                suspended = false;
                flapSuspended = false;
                flapCount = 0;
                if (state == NodeState.SUSPENDED) {
                    recover("resumed by " + c.who());
                }
            }
            case DEMOTE -> {
                emit(new Action.Record(new HaEvent(now, HaEvent.Kind.COMMAND, spec.name(), "demote requested by " + c.who(), c.who())));
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
        HealthMonitors.Verdict v = health.evaluate(now, false, this::peerAlive);
        if (!linksDown.isEmpty() || !v.faults().isEmpty()) {
            faultClearedAt = NEVER;
            transition(NodeState.FAULT, cause + "; but " + (linksDown.isEmpty() ? v.faultText()
                    : "interface(s) " + linksDown + " still down"));
            return;
        }
        if (suspended || flapSuspended) {
            transition(NodeState.SUSPENDED, cause + "; still suspended " + (suspended ? "by an operator" : "(flap max)"));
            return;
        }
        faultClearedAt = NEVER;
        if (spec.owner()) {
            becomeActive(cause + "; address owner (priority 255) takes the role at once");
            return;
        }
        preemptAllowedAt = now + spec.timers().preemptionHoldMs() * MS;
        enterPassive(cause);
    }

    private void enterPassive(String cause) {
        if (state != NodeState.INITIAL) {
            // at least a master-down interval too: adverts still in flight from a node that just yielded
            // must not make us preempt, yield and preempt again (the simulator found such storms)
            preemptAllowedAt = now + Math.max(spec.timers().preemptionHoldMs() * MS, masterDownNanos());
        }
        for (VrrpInstance i : instances) {
            i.released = false;
            i.lastRespectedAt = now;
            i.masterDownAt = now + HaTimers.masterDownNanos(spec.priority(), i.masterIntervalNanos);
        }
        advertsSilentAlarm = false;
        transition(NodeState.PASSIVE, cause);
    }

    private void becomeActive(String cause) {
        assert linksDown.isEmpty() : "becoming ACTIVE with links down " + linksDown;
        assert !suspended && !flapSuspended : "becoming ACTIVE while suspended";
        electionDeadline = NEVER;
        jitter.reset(); // it measured the old active

        if (sessions != null && !sessions.complete()) {
            cause += "; session bulk sync incomplete: taking over with the " + sessions.entries() + " sessions received";
        }
        transition(NodeState.ACTIVE, cause);
        for (VrrpInstance i : instances) {
            i.released = false;
            i.masterDownAt = NEVER;
        }
        if (sessions != null) {
            // the sessions first, the addresses once they are in (onSessionsCommitted); the adverts are due
            // after a short grace whether or not the commit is done by then
            commitPending = ++lastCommitId;
            emit(new Action.CommitSessions(cause, commitPending));
            nextAdvertAt = now + Math.min(COMMIT_ADVERT_GRACE_NANOS, advertIntervalNanos);
            return;
        }
        takeAddresses();
    }

    private void onSessionsCommitted(Input.SessionsCommitted c) {
        if (state != NodeState.ACTIVE || c.commit() != commitPending) {
            return; // the takeover it was for is over (this node left ACTIVE meanwhile): nothing to add
        }
        commitPending = NO_COMMIT;
        takeAddresses();
    }

    /** The GARP/NA rounds again, for addresses this node holds (a takeover still committing announces them when it adds them). */
    private void announceAgain() {
        if (addressesHeld) {
            announceRemaining = spec.timers().announceCount();
            nextAnnounceAt = now;
        }
    }

    /** The addresses of a takeover, their announcements, and an advert at once (also after a long commit). */
    private void takeAddresses() {
        assert state == NodeState.ACTIVE && commitPending == NO_COMMIT && !addressesHeld;
        // What moves the traffic first: the addresses (IPv4 before IPv6: an IPv6 address takes the
        // kernel longer to add), then GARP/NA, then the adverts, which only tell the other routers.
        // In the lab the adverts of 4 instances delayed the first GARP by ~0.3 ms.
        for (boolean v6 : new boolean[]{false, true}) {
            for (VrrpInstance i : instances) {
                for (Cidr c : i.spec.addresses()) {
                    if (c.address().isIpv6() == v6) {
                        emit(new Action.AddAddress(i.spec.iface(), c));
                    }
                }
            }
        }
        addressesHeld = true;
        announceRemaining = spec.timers().announceCount();
        nextAnnounceAt = now;
        announce();
        sendAdverts(electionPriority(), null);
        nextAdvertAt = now + advertIntervalNanos;
    }

    private void leaveActive(NodeState next, boolean sendZero, String cause) {
        assert state == NodeState.ACTIVE;
        if (sendZero) {
            sendAdverts(0, null);
            if (links.enabled()) {
                emit(new Action.SendRelease(cause));
            }
        }
        if (addressesHeld) { // a takeover still committing has none to remove
            for (VrrpInstance i : instances) {
                for (Cidr c : i.spec.addresses()) {
                    emit(new Action.RemoveAddress(i.spec.iface(), c));
                }
            }
            addressesHeld = false;
        }
        commitPending = NO_COMMIT; // a commit still running is answered in vain
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
        if (next == NodeState.STOPPED) {
            nextHeartbeatAt = NEVER;
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
        assert state != NodeState.ACTIVE || !(suspended || flapSuspended) : "ACTIVE while suspended";
        assert state != NodeState.ACTIVE || verdict == null || verdict.faults().isEmpty() : "ACTIVE with a failed monitor";
        assert state == NodeState.ACTIVE || nextAdvertAt == NEVER : state + " with an advert timer running";
        assert state == NodeState.ACTIVE || (!addressesHeld && commitPending == NO_COMMIT) : state + " holding addresses";
        assert !(addressesHeld && commitPending != NO_COMMIT) : "addresses added before the commit was done";
        assert state != NodeState.ACTIVE || addressesHeld || commitPending != NO_COMMIT : "ACTIVE without addresses";
        assert state != NodeState.FAULT || !linksDown.isEmpty() || faultClearedAt != NEVER
                || (verdict != null && !verdict.faults().isEmpty()) : "FAULT without a cause or hold down";
        assert state != NodeState.ACTIVE || nextAdvertAt > now : "advert timer in the past";
        dueAfterLastStep = nextDeadline();
        assert dueAfterLastStep > now : state + ": next deadline not in the future";
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

    /** "15 min" / "90 s" / "500 ms" for the long timers. */
    static String minutes(long millis) {
        return millis % 60_000 == 0 ? millis / 60_000 + " min" : millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    /** a + b, saturating at NEVER (timers that never run out stay never). */
    private static long plus(long a, long b) {
        return a >= NEVER - b ? NEVER : a + b;
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
                    state == NodeState.ACTIVE ? electionPriority() : i.masterPriority, i.advertsSent,
                    i.advertsReceived, rej));
        }
        Map<String, Long> rej = new LinkedHashMap<>();
        rejected.forEach((k, v) -> rej.put(k.name(), v));
        return new NodeStatus(spec.name(), state, spec.priority(), effectivePriority(), list,
                List.copyOf(recent), rej, health.status(), flapCount,
                suspended ? "operator" : flapSuspended ? "flap max" : "",
                links.enabled() ? advertSilenceNanos() / 1000 : -1);
    }
}
