package dev.tandem.core.ha;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.ChecksumMode;
import dev.tandem.core.vrrp.VrrpCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeCoreTest {
    static final long MS = 1_000_000L;

    static NodeSpec spec(String name, int prio, int hostByte, boolean preempt, long holdMs) {
        HaTimers t = HaTimers.profile("aggressive").withPreemptionHoldMs(holdMs);
        return new NodeSpec(name, prio, preempt, true, ChecksumMode.RFC5798, t, List.of(
                new InstanceSpec("vg1", 51, "lan0", false, List.of(Cidr.parse("10.10.1.254/24")),
                        IpAddress.parse("10.10.1." + hostByte)),
                new InstanceSpec("vg1", 51, "wan0", false, List.of(Cidr.parse("10.10.2.254/24")),
                        IpAddress.parse("10.10.2." + hostByte)),
                new InstanceSpec("vg1", 51, "lan0", true, List.of(Cidr.parse("fd10:10:1::254/64")),
                        IpAddress.parse("fe80::" + hostByte))));
    }

    /** Two cores joined by a zero-delay network; segments can be cut per interface. */
    static final class Pair {
        final NodeCore a;
        final NodeCore b;
        long now;
        final List<Action> actionsA = new ArrayList<>();
        final List<Action> actionsB = new ArrayList<>();
        final Set<String> cutIfaces = new java.util.HashSet<>();
        boolean aDead;

        Pair(NodeSpec sa, NodeSpec sb) {
            a = new NodeCore(sa);
            b = new NodeCore(sb);
        }

        void startA() {
            run(a, a.start(now, Set.of()));
        }

        void startB() {
            run(b, b.start(now, Set.of()));
        }

        void run(NodeCore from, List<Action> actions) {
            (from == a ? actionsA : actionsB).addAll(actions);
            for (Action x : actions) {
                if (x instanceof Action.SendAdvert s && !cutIfaces.contains(s.iface())) {
                    NodeCore to = from == a ? b : a;
                    if ((to == a && aDead) || to.state() == null) {
                        continue;
                    }
                    run(to, to.step(now, new Input.PacketReceived(s.iface(), s.ipv6(), s.source(),
                            VrrpCodec.group(s.ipv6()), 255, s.payload())));
                }
            }
        }

        /** Advances time to t, stepping each core at its deadlines. */
        void until(long t) {
            for (int guard = 0; guard < 1_000_000; guard++) {
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
            }
            throw new AssertionError("timer storm");
        }

        long whenBecomes(NodeCore c, NodeState s, long limit) {
            long start = now;
            while (c.state() != s && now < start + limit) {
                until(now + 100_000); // 0.1 ms steps
            }
            return now - start;
        }
    }

    @Test
    void primaryBecomesActiveAfterElectionDelayAndBackupGoesPassive() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.startA();
        // leftover VIPs are removed first
        assertThat(p.actionsA.getFirst()).isInstanceOf(Action.RemoveAddress.class);
        assertThat(p.a.state()).isEqualTo(NodeState.INITIAL);
        long delay = p.whenBecomes(p.a, NodeState.ACTIVE, 200 * MS);
        assertThat(delay).isBetween(p.a.masterDownNanos(), p.a.masterDownNanos() + MS);
        assertThat(p.actionsA).filteredOn(x -> x instanceof Action.AddAddress).hasSize(3);
        // the takeover moves the traffic first: IPv4 addresses, then IPv6, then GARP/NA, then adverts
        List<Action> takeover = p.actionsA.subList(p.actionsA.indexOf(p.actionsA.stream()
                .filter(x -> x instanceof Action.AddAddress).findFirst().orElseThrow()), p.actionsA.size());
        List<String> kinds = takeover.stream().filter(x -> !(x instanceof Action.Record))
                .map(x -> x instanceof Action.AddAddress ad ? (ad.address().address().isIpv6() ? "add6" : "add4")
                        : x.getClass().getSimpleName()).distinct().toList();
        assertThat(kinds).startsWith("add4", "add6", "Announce", "SendAdvert");
        p.startB();
        p.until(p.now + 15 * MS);
        assertThat(p.b.state()).isEqualTo(NodeState.PASSIVE);
        // 5 announcement rounds (2 interfaces each), spaced 10 ms
        p.until(p.now + 100 * MS);
        assertThat(p.actionsA).filteredOn(x -> x instanceof Action.Announce).hasSize(10);
        assertThat(p.b.status().instances().getFirst().master()).isEqualTo("10.10.1.1");
    }

    @Test
    void crashedMasterIsReplacedAfterTheMasterDownInterval() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.startA();
        p.startB();
        p.whenBecomes(p.a, NodeState.ACTIVE, 100 * MS);
        p.until(p.now + 50 * MS);
        p.aDead = true;
        long lastAdvert = p.now; // adverts every 10 ms; the last one was at most 10 ms ago
        long took = p.whenBecomes(p.b, NodeState.ACTIVE, 200 * MS);
        long mdi = HaTimers.masterDownNanos(200, 10 * MS); // 30 + 2.19 ms
        assertThat(took).isBetween(mdi - 10 * MS - 100_000, mdi + 100_000);
        assertThat(p.b.status().recentTransitions().getLast().text()).contains("silent on every path");
        assertThat(lastAdvert).isPositive();
    }

    @Test
    void faultSendsPriorityZeroAndPeerTakesOverAfterSkewOnly() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.startA();
        p.startB();
        p.whenBecomes(p.a, NodeState.ACTIVE, 100 * MS);
        p.until(p.now + 33 * MS);
        p.cutIfaces.add("lan0"); // the cable is gone: nothing crosses lan0 any more
        p.actionsA.clear();
        p.run(p.a, p.a.step(p.now, new Input.LinkChanged("lan0", false)));
        assertThat(p.a.state()).isEqualTo(NodeState.FAULT);
        assertThat(p.actionsA).filteredOn(x -> x instanceof Action.SendAdvert s && s.priority() == 0)
                .extracting(x -> ((Action.SendAdvert) x).iface()).containsExactly("wan0");
        assertThat(p.actionsA).filteredOn(x -> x instanceof Action.RemoveAddress).hasSize(3);
        long took = p.whenBecomes(p.b, NodeState.ACTIVE, 100 * MS);
        assertThat(took).isBetween(HaTimers.skewNanos(200, 10 * MS) - 100_000, HaTimers.skewNanos(200, 10 * MS) + 200_000);
        assertThat(p.b.status().recentTransitions().getLast().text()).contains("released the role");
        // back up: fw1 stays PASSIVE (preemption off)
        p.cutIfaces.clear();
        p.run(p.a, p.a.step(p.now, new Input.LinkChanged("lan0", true)));
        assertThat(p.a.state()).isEqualTo(NodeState.PASSIVE);
        p.until(p.now + 500 * MS);
        assertThat(p.a.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(p.b.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void oneSilentSegmentDoesNotPromote() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.startA();
        p.startB();
        p.whenBecomes(p.a, NodeState.ACTIVE, 100 * MS);
        p.until(p.now + 20 * MS);
        p.cutIfaces.add("lan0"); // e.g. a switch fault that neither kernel sees
        p.until(p.now + 300 * MS);
        assertThat(p.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(p.a.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void preemptionWaitsForItsHold() {
        Pair p = new Pair(spec("fw1", 250, 1, true, 400), spec("fw2", 200, 2, true, 400));
        p.startB();
        p.whenBecomes(p.b, NodeState.ACTIVE, 100 * MS);
        p.startA();
        long startedA = p.now;
        p.until(p.now + 50 * MS);
        assertThat(p.a.state()).isEqualTo(NodeState.PASSIVE);
        p.whenBecomes(p.a, NodeState.ACTIVE, 1000 * MS);
        long took = p.now - startedA;
        assertThat(took).isBetween(400 * MS, 400 * MS + HaTimers.masterDownNanos(250, 10 * MS) + MS);
        p.until(p.now + MS);
        assertThat(p.b.state()).isEqualTo(NodeState.PASSIVE);
    }

    @Test
    void withoutPreemptionTheRecoveredPrimaryStaysPassive() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 0), spec("fw2", 200, 2, false, 0));
        p.startB();
        p.whenBecomes(p.b, NodeState.ACTIVE, 100 * MS);
        p.startA();
        p.until(p.now + 2000 * MS);
        assertThat(p.a.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(p.b.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void gracefulShutdownHandsOverAfterSkew() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.startA();
        p.startB();
        p.whenBecomes(p.a, NodeState.ACTIVE, 100 * MS);
        p.until(p.now + 27 * MS);
        p.actionsA.clear();
        p.run(p.a, p.a.step(p.now, new Input.Shutdown("SIGTERM")));
        assertThat(p.a.state()).isEqualTo(NodeState.STOPPED);
        assertThat(p.actionsA).filteredOn(x -> x instanceof Action.SendAdvert s && s.priority() == 0).hasSize(3);
        assertThat(p.actionsA).filteredOn(x -> x instanceof Action.RemoveAddress).hasSize(3);
        long took = p.whenBecomes(p.b, NodeState.ACTIVE, 100 * MS);
        assertThat(took).isLessThanOrEqualTo(HaTimers.skewNanos(200, 10 * MS) + 200_000);
    }

    @Test
    void suspendAndDemoteAreOperatorDecisions() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.startA();
        p.startB();
        p.whenBecomes(p.a, NodeState.ACTIVE, 100 * MS);
        p.run(p.a, p.a.step(p.now, new Input.Command(Input.CommandKind.DEMOTE, "alice")));
        assertThat(p.a.state()).isEqualTo(NodeState.PASSIVE);
        p.whenBecomes(p.b, NodeState.ACTIVE, 100 * MS);
        p.run(p.b, p.b.step(p.now, new Input.Command(Input.CommandKind.SUSPEND, "bob")));
        assertThat(p.b.state()).isEqualTo(NodeState.SUSPENDED);
        assertThat(p.b.effectivePriority()).isZero();
        p.whenBecomes(p.a, NodeState.ACTIVE, 100 * MS);
        p.until(p.now + 200 * MS);
        assertThat(p.b.state()).isEqualTo(NodeState.SUSPENDED);
        p.run(p.b, p.b.step(p.now, new Input.Command(Input.CommandKind.RESUME, "bob")));
        assertThat(p.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(p.b.status().recentTransitions()).extracting(HaEvent::text)
                .anyMatch(t -> t.contains("suspended by bob")).anyMatch(t -> t.contains("resumed by bob"));
    }

    @Test
    void ownerStartsActiveAtOnceAndTwoMastersResolve() {
        Pair p = new Pair(spec("fw1", 255, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.cutIfaces.addAll(Set.of("lan0", "wan0")); // a split: both sides alone
        p.startB();
        p.whenBecomes(p.b, NodeState.ACTIVE, 100 * MS);
        p.startA();
        assertThat(p.a.state()).isEqualTo(NodeState.ACTIVE);
        p.until(p.now + 50 * MS);
        assertThat(p.b.state()).isEqualTo(NodeState.ACTIVE);
        p.cutIfaces.clear(); // the split heals: the lower priority gives up within one advert interval
        p.until(p.now + 10 * MS + 1);
        assertThat(p.b.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(p.a.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void badPacketsAreCountedByReasonAndNeverChangeState() {
        Pair p = new Pair(spec("fw1", 250, 1, false, 1000), spec("fw2", 200, 2, false, 1000));
        p.startA();
        p.whenBecomes(p.a, NodeState.ACTIVE, 100 * MS);
        List<Action> out = p.a.step(p.now, new Input.PacketReceived("lan0", false, IpAddress.parse("10.10.1.9"),
                VrrpCodec.GROUP_V4, 64, new byte[]{0x31, 51, (byte) 254, 1, 0, 1, 0, 0, 10, 10, 1, (byte) 254}));
        assertThat(out).filteredOn(x -> x instanceof Action.Record r && r.event().kind() == HaEvent.Kind.REJECTED_PACKET)
                .hasSize(1);
        p.a.step(p.now, new Input.PacketReceived("lan0", false, IpAddress.parse("10.10.1.9"),
                VrrpCodec.GROUP_V4, 255, new byte[3]));
        assertThat(p.a.status().rejectedByReason()).containsEntry("BAD_TTL", 1L).containsEntry("TOO_SHORT", 1L);
        assertThat(p.a.state()).isEqualTo(NodeState.ACTIVE);
    }
}
