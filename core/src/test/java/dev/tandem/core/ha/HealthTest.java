package dev.tandem.core.ha;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.health.HealthSpec;
import dev.tandem.core.health.MonitorSpec;
import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.ChecksumMode;
import dev.tandem.core.vrrp.VrrpCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Monitors, hold timers, flap max and the compare rule on a pair of cores joined by control + backup links. */
class HealthTest {
    static final long MS = 1_000_000L;
    static final long MIN = 60_000 * MS;

    static final List<MonitorSpec> MONITORS = List.of(
            new MonitorSpec.LinkGroup("uplinks", List.of("wan0", "wan1"), false, MonitorSpec.Effect.toFault()),
            new MonitorSpec.PathGroup("isp", List.of("10.10.2.100"), 3, false, true, MonitorSpec.Effect.toFault()),
            new MonitorSpec.ServiceCheck("dns", 2, 2, MonitorSpec.Effect.weight(100)));

    static long promotionHoldMs;

    static NodeSpec spec(String name, String peer, int prio, int host, boolean preempt, HealthSpec h, boolean links) {
        HaTimers t = HaTimers.profile("aggressive").withPreemptionHoldMs(1000).withPromotionHoldMs(promotionHoldMs);
        return new NodeSpec(name, prio, preempt, true, ChecksumMode.RFC5798, t, List.of(
                new InstanceSpec("vg1", 51, "lan0", false, List.of(Cidr.parse("10.10.1.254/24")),
                        IpAddress.parse("10.10.1." + host)),
                new InstanceSpec("vg1", 51, "wan0", false, List.of(Cidr.parse("10.10.2.254/24")),
                        IpAddress.parse("10.10.2." + host))),
                links ? new PeerLinks(List.of(peer), List.of("control", "backup"), 2, 3, -1) : PeerLinks.none(), h);
    }

    static HealthSpec health() {
        return HealthSpec.profile("aggressive").withMonitors(MONITORS).withHolds(0, 50, 1000);
    }

    static final class Net {
        final NodeCore a;
        final NodeCore b;
        final Set<String> cut = new HashSet<>();
        final List<HaEvent> eventsA = new ArrayList<>();
        final List<HaEvent> eventsB = new ArrayList<>();
        long now;

        Net(HealthSpec h, boolean preempt, boolean links) {
            a = new NodeCore(spec("fw1", "fw2", 200, 1, preempt, h, links));
            b = new NodeCore(spec("fw2", "fw1", 150, 2, preempt, h, links));
        }

        Net(HealthSpec h, boolean preempt) {
            this(h, preempt, true);
        }

        Net() {
            this(health(), false);
        }

        void run(NodeCore from, List<Action> actions) {
            NodeCore to = from == a ? b : a;
            String fromName = from == a ? "fw1" : "fw2";
            for (Action x : actions) {
                if (x instanceof Action.Record r) {
                    (from == a ? eventsA : eventsB).add(r.event());
                }
                if (to.state() == null) {
                    continue;
                }
                switch (x) {
                    case Action.SendAdvert s when !cut.contains(s.iface()) -> run(to, to.step(now,
                            new Input.PacketReceived(s.iface(), s.ipv6(), s.source(), VrrpCodec.group(s.ipv6()), 255,
                                    s.payload())));
                    case Action.SendHeartbeat hb -> {
                        for (String p : List.of("control", "backup")) {
                            if (!cut.contains(p)) {
                                run(to, to.step(now, new Input.Heartbeat(fromName, p, hb.state(), hb.priority())));
                            }
                        }
                    }
                    case Action.SendRelease r when !cut.contains("control") ->
                            run(to, to.step(now, new Input.PeerReleased(fromName, r.why())));
                    case Action.SendHealth sh when !cut.contains("control") ->
                            run(to, to.step(now, new Input.PeerHealth(fromName, sh.pathGroups())));
                    default -> { }
                }
            }
        }

        void step(NodeCore c, Input in) {
            run(c, c.step(now, in));
        }

        void until(long t) {
            for (int guard = 0; guard < 5_000_000; guard++) {
                long da = a.state() == null ? Long.MAX_VALUE : a.nextDeadline();
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

        /** n lost (or answered) probes on one node, 10 ms apart. */
        void probes(NodeCore c, int n, boolean ok) {
            for (int i = 0; i < n; i++) {
                step(c, new Input.ProbeResult("isp", "10.10.2.100", ok, ok ? "" : "no reply"));
                until(now + 10 * MS);
            }
        }

        String lastTransition(NodeCore c) {
            return c.status().recentTransitions().getLast().text();
        }
    }

    @Test
    void aLinkGroupFailureOnTheActiveWaitsTheAdditionalMasterHoldUpThenHandsOver() {
        Net n = new Net();
        n.startPair();
        n.step(n.a, new Input.LinkChanged("wan1", false)); // not a VRRP interface: only the link group sees it
        n.until(n.now + 49 * MS);
        assertThat(n.a.state()).as("still within the additional master hold up").isEqualTo(NodeState.ACTIVE);
        n.until(n.now + 2 * MS);
        assertThat(n.a.state()).isEqualTo(NodeState.FAULT);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.lastTransition(n.a)).contains("link group 'uplinks' down (interface wan1 down)")
                .contains("additional master hold up 50 ms");
    }

    @Test
    void faultLastsTheHoldDownAfterRecovery() {
        Net n = new Net();
        n.startPair();
        n.step(n.b, new Input.LinkChanged("wan1", false));
        assertThat(n.b.state()).as("no additional hold on the passive").isEqualTo(NodeState.FAULT);
        n.until(n.now + 20 * MS);
        n.step(n.b, new Input.LinkChanged("wan1", true));
        n.until(n.now + 999 * MS);
        assertThat(n.b.state()).isEqualTo(NodeState.FAULT);
        n.until(n.now + 2 * MS);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.lastTransition(n.b)).contains("monitor fail hold down of 1000.0 ms");
    }

    @Test
    void compareModeFailsOverOnlyWhenThePeerReachesTheTarget() {
        Net n = new Net();
        n.startPair();
        n.probes(n.a, 3, false);
        n.until(n.now + 100 * MS);
        assertThat(n.a.state()).isEqualTo(NodeState.FAULT);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.lastTransition(n.a)).contains("path group 'isp' down (3 of 3 probes to 10.10.2.100 failed: no reply)")
                .contains("fw2 reaches it");
    }

    @Test
    void compareModeDoesNothingWhenNeitherNodeReachesTheTarget() {
        Net n = new Net();
        n.startPair();
        for (int i = 0; i < 3; i++) { // both lose the server at the same time
            n.step(n.a, new Input.ProbeResult("isp", "10.10.2.100", false, "no reply"));
            n.step(n.b, new Input.ProbeResult("isp", "10.10.2.100", false, "no reply"));
            n.until(n.now + 10 * MS);
        }
        n.until(n.now + 500 * MS);
        assertThat(n.a.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.eventsA).anyMatch(e -> e.text().contains("fw2 cannot reach it either: no failover"));
        // the server comes back for fw1 only: nothing to do, fw1 is already the active
        n.probes(n.a, 1, true);
        assertThat(n.a.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void aWeightedCheckLowersThePriorityAndMovesTheRoleWithoutPreemption() {
        Net n = new Net();
        n.startPair();
        n.step(n.a, new Input.CheckResult("dns", false, "exit 1"));
        n.until(n.now + 100 * MS);
        assertThat(n.a.state()).as("fall is 2").isEqualTo(NodeState.ACTIVE);
        n.step(n.a, new Input.CheckResult("dns", false, "exit 1"));
        n.until(n.now + 100 * MS);
        assertThat(n.a.effectivePriority()).isEqualTo(100);
        assertThat(n.a.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.lastTransition(n.a)).contains("fw2 has priority 150 > effective priority 100")
                .contains("service check 'dns' down (2 failures in a row: exit 1)");
        // recovery: priority back to 200, but preemption is off: fw2 keeps the role
        n.step(n.a, new Input.CheckResult("dns", true, ""));
        n.step(n.a, new Input.CheckResult("dns", true, ""));
        n.until(n.now + 3000 * MS);
        assertThat(n.a.effectivePriority()).isEqualTo(200);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.a.state()).isEqualTo(NodeState.PASSIVE);
    }

    @Test
    void withPreemptionTheRecoveredNodeTakesTheRoleBackOnlyAfterTheHold() {
        Net n = new Net(health(), true);
        n.startPair();
        n.step(n.a, new Input.LinkChanged("lan0", false));
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        n.until(n.now + 10 * MS);
        n.step(n.a, new Input.LinkChanged("lan0", true));
        long back = n.now;
        while (n.a.state() != NodeState.ACTIVE && n.now < back + 5000 * MS) {
            n.until(n.now + MS);
        }
        // hold down 1 s in FAULT, then the preemption hold of 1 s
        assertThat(n.now - back).isBetween(2000 * MS, 2100 * MS);
        assertThat(n.lastTransition(n.a)).contains("preempting").contains("after the preemption hold of 1000.0 ms");
    }

    @Test
    void flapMaxSuspendsTheNodeAndResumeLiftsIt() {
        Net n = new Net(health(), false, false); // no 2 ms heartbeats: minutes of simulated time stay cheap
        n.startPair();
        for (int i = 0; i < 3; i++) {
            n.step(n.b, new Input.LinkChanged("wan1", false));
            n.until(n.now + 10 * MS);
            n.step(n.b, new Input.LinkChanged("wan1", true));
            n.until(n.now + 5 * 60_000 * MS); // 5 min apart: each within 15 min of the previous
        }
        assertThat(n.b.state()).isEqualTo(NodeState.SUSPENDED);
        assertThat(n.b.status().suspendedBy()).isEqualTo("flap max");
        assertThat(n.lastTransition(n.b)).contains("entered FAULT 3 times, each within 15 min")
                .contains("flap max 3");
        n.step(n.b, new Input.Command(Input.CommandKind.RESUME, "alice"));
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.status().flapCount()).isZero();
    }

    @Test
    void flapsFarApartNeverSuspend() {
        Net n = new Net(health(), false, false);
        n.startPair();
        for (int i = 0; i < 5; i++) {
            n.step(n.b, new Input.LinkChanged("wan1", false));
            n.until(n.now + 10 * MS);
            n.step(n.b, new Input.LinkChanged("wan1", true));
            n.until(n.now + 21 * MIN);
        }
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.status().flapCount()).isEqualTo(1);
    }

    @Test
    void overallConditionAllIgnoresOneFailedLinkGroup() {
        HealthSpec h = health().withMonitors(List.of(
                new MonitorSpec.LinkGroup("lan", List.of("lan1"), false, MonitorSpec.Effect.toFault()),
                new MonitorSpec.LinkGroup("wan", List.of("wan1", "wan2"), true, MonitorSpec.Effect.toFault())))
                .withLinkGroupsAll(true);
        Net n = new Net(h, false);
        n.startPair();
        n.step(n.b, new Input.LinkChanged("lan1", false));
        n.step(n.b, new Input.LinkChanged("wan1", false));
        assertThat(n.b.state()).as("group wan fails only when both are down").isEqualTo(NodeState.PASSIVE);
        assertThat(n.eventsB).anyMatch(e -> e.text().contains("other link groups still up (overall condition: all)"));
        n.step(n.b, new Input.LinkChanged("wan2", false));
        assertThat(n.b.state()).isEqualTo(NodeState.FAULT);
    }

    @Test
    void thePromotionHoldDelaysATakeoverAfterEveryPathWentSilent() {
        long[] took = new long[2];
        for (int k = 0; k < 2; k++) {
            promotionHoldMs = k == 0 ? 0 : 200;
            try {
                Net n = new Net();
                n.startPair();
                n.cut.addAll(Set.of("lan0", "wan0", "control", "backup"));
                long t0 = n.now;
                while (n.b.state() != NodeState.ACTIVE && n.now < t0 + 2000 * MS) {
                    n.until(n.now + MS / 10);
                }
                took[k] = n.now - t0;
            } finally {
                promotionHoldMs = 0;
            }
        }
        assertThat(took[1] - took[0]).as("the hold adds 200 ms").isBetween(199 * MS, 201 * MS);
    }

    @Test
    void aVrrpInterfaceDownStillHandsOverAtOnce() {
        Net n = new Net();
        n.startPair();
        n.cut.add("lan0");
        n.step(n.a, new Input.LinkChanged("lan0", false));
        assertThat(n.a.state()).isEqualTo(NodeState.FAULT);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
    }
}
