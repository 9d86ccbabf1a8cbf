package dev.tandem.core.ha;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.ChecksumMode;
import dev.tandem.core.vrrp.VrrpCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The all-paths rule with dedicated heartbeat links (control + backup), aggressive timers. */
class PeerLinksTest {
    static final long MS = 1_000_000L;

    static NodeSpec spec(String name, String peer, int prio, int host) {
        return new NodeSpec(name, prio, false, true, ChecksumMode.RFC5798, HaTimers.profile("aggressive"), List.of(
                new InstanceSpec("vg1", 51, "lan0", false, List.of(Cidr.parse("10.10.1.254/24")),
                        IpAddress.parse("10.10.1." + host)),
                new InstanceSpec("vg1", 51, "wan0", false, List.of(Cidr.parse("10.10.2.254/24")),
                        IpAddress.parse("10.10.2." + host))),
                new PeerLinks(List.of(peer), List.of("control", "backup"), 2, 3, -1));
    }

    /**
     * fw1 and fw2, zero delay; segments and dedicated paths can be cut; a node can die. fw2's session
     * commits (TakeoverCommitTest) are recorded and answered by the test, or at once if it says so.
     */
    static final class Net {
        final NodeCore a = new NodeCore(spec("fw1", "fw2", 250, 1));
        final NodeCore b = new NodeCore(spec("fw2", "fw1", 200, 2));
        final Set<String> cut = new HashSet<>();
        final List<HaEvent> eventsB = new ArrayList<>();
        final List<Action> actionsB = new ArrayList<>();
        final List<Long> commitsAskedByB = new ArrayList<>();
        boolean answerCommitsAtOnce;
        /** Fail at once if a step leaves both ACTIVE. */
        boolean forbidTwoActives;
        boolean aDead;
        long now;

        void run(NodeCore from, List<Action> actions) {
            NodeCore to = from == a ? b : a;
            String fromName = from == a ? "fw1" : "fw2";
            if ((from == a && aDead) || (to == a && aDead)) {
                return;
            }
            if (from == b) {
                actionsB.addAll(actions);
            }
            for (Action x : actions) {
                if (x instanceof Action.Record r && from == b) {
                    eventsB.add(r.event());
                }
                if (x instanceof Action.CommitSessions c && from == b) {
                    commitsAskedByB.add(c.commit());
                    if (answerCommitsAtOnce) { // a small table, written inline by the daemon
                        run(b, b.step(now, new Input.SessionsCommitted(c.commit())));
                    }
                }
                if (to.state() == null) {
                    continue;
                }
                switch (x) {
                    case Action.SendAdvert s when !cut.contains(s.iface()) -> run(to, to.step(now,
                            new Input.PacketReceived(s.iface(), s.ipv6(), s.source(), VrrpCodec.group(s.ipv6()), 255,
                                    s.payload())));
                    case Action.SendHeartbeat h -> {
                        for (String p : List.of("control", "backup")) {
                            if (!cut.contains(p)) {
                                run(to, to.step(now, new Input.Heartbeat(fromName, p, h.state(), h.priority())));
                            }
                        }
                    }
                    case Action.SendRelease r when !cut.contains("control") ->
                            run(to, to.step(now, new Input.PeerReleased(fromName, r.why())));
                    default -> { }
                }
            }
        }

        void until(long t) {
            for (int guard = 0; guard < 2_000_000; guard++) {
                long da = aDead || a.state() == null ? Long.MAX_VALUE : a.nextDeadline();
                long db = b.state() == null ? Long.MAX_VALUE : b.nextDeadline();
                long d = Math.min(da, db);
                if (d > t) {
                    now = t;
                    return;
                }
                now = d;
                if (da == d) {
                    run(a, a.step(now, new Input.Tick()));
                } else {
                    run(b, b.step(now, new Input.Tick()));
                }
                if (forbidTwoActives && a.state() == NodeState.ACTIVE && b.state() == NodeState.ACTIVE) {
                    throw new AssertionError("two actives at " + now / MS + " ms");
                }
            }
            throw new AssertionError("timer storm");
        }

        void startPair() {
            run(a, a.start(now, Set.of()));
            until(now + 100 * MS);
            run(b, b.start(now, Set.of()));
            until(now + 100 * MS);
            assertThat(a.state()).isEqualTo(NodeState.ACTIVE);
            assertThat(b.state()).isEqualTo(NodeState.PASSIVE);
        }

        long timeUntil(NodeCore c, NodeState s, long limit) {
            long start = now;
            while (c.state() != s && now < start + limit) {
                until(now + 100_000);
            }
            return now - start;
        }
    }

    @Test
    void controlLinkLossAloneKeepsThePassivePassiveAndRaisesAnAlarm() {
        Net n = new Net();
        n.startPair();
        n.cut.add("control");
        n.until(n.now + 500 * MS);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.eventsB).anyMatch(e -> e.kind() == HaEvent.Kind.ALARM && e.text().contains("control link to fw1 is silent")
                && e.text().contains("staying PASSIVE"));
    }

    @Test
    void adverts_silent_but_control_link_alive_keeps_the_passive_passive() {
        Net n = new Net();
        n.startPair();
        n.cut.addAll(Set.of("lan0", "wan0", "backup")); // only the control link joins them
        n.until(n.now + 500 * MS);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.a.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.eventsB).anyMatch(e -> e.kind() == HaEvent.Kind.ALARM && e.text().contains("no advert on any segment"));
    }

    @Test
    void everyPathCutPromotesAndHealingStepsOneDown() {
        Net n = new Net();
        n.startPair();
        n.cut.addAll(Set.of("lan0", "wan0", "control", "backup"));
        n.timeUntil(n.b, NodeState.ACTIVE, 500 * MS);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        n.cut.clear();
        n.until(n.now + 10 * MS + 1);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.a.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void aDeadActiveIsFoundWellBeforeTheMasterDownInterval() {
        Net n = new Net();
        n.startPair();
        n.until(n.now + 7 * MS);
        n.aDead = true;
        long took = n.timeUntil(n.b, NodeState.ACTIVE, 200 * MS);
        long mdi = HaTimers.masterDownNanos(200, 10 * MS);
        assertThat(took).as("takeover after an advert silence of one interval + skew").isLessThan(mdi - 10 * MS);
        assertThat(n.b.status().recentTransitions().getLast().text()).contains("active silent on every path");
    }

    @Test
    void theAdvertSilenceWindowAdaptsToHowLateTheActivesHeartbeatsCame() {
        Net n = new Net();
        n.startPair();
        long cap = 20 * MS; // a pair: no other backup to stagger against, no skew
        assertThat(n.b.status().advertSilenceMicros()).as("no history yet: two intervals").isEqualTo(cap / 1000);
        n.until(n.now + 6_000 * MS);
        long quiet = 10 * MS + MS;
        assertThat(n.b.status().advertSilenceMicros()).as("punctual heartbeats: one interval + 1 ms")
                .isEqualTo(quiet / 1000);
        // fw1 is not heard for 3 ms (a heartbeat comes 5 ms after the previous one, 3 ms late): twice that is added
        Set<String> all = Set.of("lan0", "wan0", "control", "backup");
        n.cut.addAll(all);
        n.until(n.now + 3 * MS);
        n.cut.clear();
        n.until(n.now + 100 * MS);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        long late = n.b.status().advertSilenceMicros() * 1000 - quiet;
        assertThat(late).as("2 x lateness (micros in the status)").isBetween(2 * 2 * MS - 1000, 2 * 4 * MS);
        // a longer pause: never beyond the old default
        n.cut.addAll(all);
        n.until(n.now + 9 * MS);
        n.cut.clear();
        n.until(n.now + 100 * MS);
        assertThat(n.b.status().advertSilenceMicros()).isEqualTo(cap / 1000);
        // 30 s later the pauses are forgotten
        n.until(n.now + 36_000 * MS);
        assertThat(n.b.status().advertSilenceMicros()).isEqualTo(quiet / 1000);
    }

    @Test
    void aStallBothNodesShareDoesNotLengthenTheWindowButOneOfTheActiveAloneDoes() {
        Net n = new Net();
        n.startPair();
        n.until(n.now + 6_000 * MS);
        long quiet = 11 * MS;
        assertThat(n.b.status().advertSilenceMicros()).isEqualTo(quiet / 1000);
        for (int i = 0; i < 5; i++) {
            // both frozen 9 ms (one hypervisor, or the lab's one kernel), then both run their late timers
            n.now += 9 * MS;
            n.run(n.a, n.a.step(n.now, new Input.Tick()));
            n.run(n.b, n.b.step(n.now, new Input.Tick()));
            n.until(n.now + 50 * MS + i * 1_300_000);
        }
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.eventsB).as("fw2, held up itself, heard fw1's late advert before judging it silent")
                .noneMatch(e -> e.text().contains("-> ACTIVE"));
        assertThat(n.b.status().advertSilenceMicros()).as("shared stalls: fw2 could not judge fw1 meanwhile")
                .isEqualTo(quiet / 1000);
        // fw1 alone held up 4 ms (fw2 runs, nothing arrives): that counts
        n.cut.addAll(Set.of("lan0", "wan0", "control", "backup"));
        n.until(n.now + 4 * MS);
        n.cut.clear();
        n.until(n.now + 100 * MS);
        assertThat(n.b.status().advertSilenceMicros() * 1000 - quiet).as("2 x lateness").isBetween(2 * 3 * MS, 2 * 6 * MS);
    }

    @Test
    void aNodeHeldUpListensOneMillisecondBeforeItJudgesTheActiveSilent() {
        Net n = new Net();
        n.startPair();
        n.until(n.now + 6_000 * MS);
        // both frozen 15 ms, and fw2 runs first (what it sends reaches fw1 only once fw1 runs): it
        // does not take the role at once, but listens for the grace
        Set<String> all = Set.of("lan0", "wan0", "control", "backup");
        n.now += 15 * MS;
        n.cut.addAll(all);
        n.run(n.b, n.b.step(n.now, new Input.Tick()));
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.nextDeadline() - n.now).isEqualTo(NodeCore.STALL_GRACE_NANOS);
        // fw1 runs 0.3 ms later: its heartbeats and adverts reach fw2 within the grace
        n.cut.clear();
        n.now += 300_000;
        n.run(n.a, n.a.step(n.now, new Input.Tick()));
        n.until(n.now + 100 * MS);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.eventsB).noneMatch(e -> e.text().contains("-> ACTIVE"));
        // fw1 really dead while fw2 was held up: fw2 takes over one grace after it resumed
        n.aDead = true;
        n.now += 30 * MS;
        n.run(n.b, n.b.step(n.now, new Input.Tick()));
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        long took = n.timeUntil(n.b, NodeState.ACTIVE, 100 * MS);
        assertThat(took).isEqualTo(NodeCore.STALL_GRACE_NANOS);
    }

    @Test
    void aDeadActiveOfAQuietPairIsFoundAfterOneIntervalPlus1Ms() {
        Net n = new Net();
        n.startPair();
        n.until(n.now + 6_000 * MS + 3 * MS);
        n.aDead = true;
        long took = n.timeUntil(n.b, NodeState.ACTIVE, 200 * MS);
        long window = 10 * MS + MS;
        assertThat(took).isLessThanOrEqualTo(window).isGreaterThan(window - 10 * MS - 1);
        assertThat(n.b.status().recentTransitions().getLast().text()).contains("advert silence window 11.0 ms");
    }

    @Test
    void withTwoOrMorePeersTheSkewStaysInTheWindow() {
        NodeSpec two = new NodeSpec("fw2", 200, false, true, ChecksumMode.RFC5798, HaTimers.profile("aggressive"),
                spec("fw2", "fw1", 200, 2).instances(),
                new PeerLinks(List.of("fw1", "fw3"), List.of("control", "backup"), 2, 3, -1));
        NodeCore c = new NodeCore(two);
        c.start(0, Set.of());
        assertThat(c.status().advertSilenceMicros()).as("two intervals + skew")
                .isEqualTo((20 * MS + HaTimers.skewNanos(200, 10 * MS)) / 1000);
        NodeCore pair = new NodeCore(spec("fw2", "fw1", 200, 2));
        pair.start(0, Set.of());
        assertThat(pair.status().advertSilenceMicros()).as("a pair: two intervals").isEqualTo(20 * MS / 1000);
    }

    @Test
    void aTickThatWouldTakeTheRoleForSilenceIsAnnouncedBeforehand() {
        NodeCore alone = new NodeCore(spec("fw2", "fw1", 200, 2));
        alone.start(0, Set.of());
        long mdi = HaTimers.masterDownNanos(200, 10 * MS);
        assertThat(alone.promotionBySilenceDue(mdi / 2)).as("INITIAL, election delay running").isFalse();
        assertThat(alone.promotionBySilenceDue(mdi + 1)).as("INITIAL, nobody heard").isTrue();
        Net n = new Net();
        n.startPair();
        assertThat(n.b.promotionBySilenceDue(n.now)).as("PASSIVE, active heard").isFalse();
        assertThat(n.b.promotionBySilenceDue(n.now + mdi)).as("PASSIVE, if nothing comes until then").isTrue();
        assertThat(n.a.promotionBySilenceDue(n.now + mdi)).as("ACTIVE").isFalse();
    }

    @Test
    void aFaultingActiveHandsOverAtOnceOverTheControlLink() {
        Net n = new Net();
        n.startPair();
        n.cut.add("lan0");
        n.run(n.a, n.a.step(n.now, new Input.LinkChanged("lan0", false)));
        assertThat(n.a.state()).isEqualTo(NodeState.FAULT);
        assertThat(n.b.state()).as("no skew wait: released over the channel").isEqualTo(NodeState.ACTIVE);
        // whichever comes first, the release over the channel or the priority-0 advert: no skew wait
        assertThat(n.b.status().recentTransitions().getLast().text()).containsAnyOf("released the role over the channel",
                "took over at once");
    }
}
