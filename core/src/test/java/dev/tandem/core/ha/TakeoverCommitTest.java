package dev.tandem.core.ha;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.vrrp.VrrpCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The takeover's session commit (Action.CommitSessions / Input.SessionsCommitted): the addresses wait for
 * it, the adverts and heartbeats do not. Found in the lab: fw2 wrote 100,000 sessions in 653 ms on its
 * loop after fw1 was demoted, sent nothing meanwhile, and fw1 took the role back after 30 ms of silence.
 */
class TakeoverCommitTest {
    static final long MS = 1_000_000L;

    /** fw1 (250) and fw2 (200) with control and backup links, zero delay; commits are answered by the test. */
    static final class Net {
        final NodeCore a = new NodeCore(PeerLinksTest.spec("fw1", "fw2", 250, 1));
        final NodeCore b = new NodeCore(PeerLinksTest.spec("fw2", "fw1", 200, 2));
        final List<Action> actionsB = new ArrayList<>();
        final List<Long> commitsAskedByB = new ArrayList<>();
        boolean answerAtOnce;
        long now;

        void run(NodeCore from, List<Action> actions) {
            NodeCore to = from == a ? b : a;
            String fromName = from == a ? "fw1" : "fw2";
            if (from == b) {
                actionsB.addAll(actions);
            }
            for (Action x : actions) {
                if (to.state() == null && !(x instanceof Action.CommitSessions)) {
                    continue; // not started yet
                }
                switch (x) {
                    case Action.SendAdvert s -> run(to, to.step(now, new Input.PacketReceived(s.iface(), s.ipv6(),
                            s.source(), VrrpCodec.group(s.ipv6()), 255, s.payload())));
                    case Action.SendHeartbeat h -> {
                        for (String p : List.of("control", "backup")) {
                            run(to, to.step(now, new Input.Heartbeat(fromName, p, h.state(), h.priority())));
                        }
                    }
                    case Action.SendRelease r -> run(to, to.step(now, new Input.PeerReleased(fromName, r.why())));
                    case Action.CommitSessions c when from == b -> {
                        commitsAskedByB.add(c.commit());
                        if (answerAtOnce) { // a small table, written inline by the daemon
                            run(b, b.step(now, new Input.SessionsCommitted(c.commit())));
                        }
                    }
                    default -> { }
                }
            }
        }

        void until(long t) {
            for (int guard = 0; guard < 2_000_000; guard++) {
                long da = a.nextDeadline();
                long db = b.nextDeadline();
                long d = Math.min(da, db);
                if (d > t) {
                    now = t;
                    return;
                }
                now = d;
                run(da == d ? a : b, (da == d ? a : b).step(now, new Input.Tick()));
                assertThat(a.state() == NodeState.ACTIVE && b.state() == NodeState.ACTIVE)
                        .as("two actives at %d ms", now / MS).isFalse();
            }
            throw new AssertionError("timer storm");
        }

        void startWithSessionsOnFw2() {
            run(a, a.start(0, Set.of()));
            run(b, b.start(0, Set.of()));
            run(b, b.step(0, new Input.SessionSyncState(true, 1_000_000)));
            until(500 * MS);
            assertThat(a.state()).isEqualTo(NodeState.ACTIVE);
            assertThat(b.state()).isEqualTo(NodeState.PASSIVE);
            actionsB.clear();
        }

        void demoteFw1() {
            run(a, a.step(now, new Input.Command(Input.CommandKind.DEMOTE, "test")));
        }

        <T extends Action> List<T> ofB(Class<T> type) {
            return actionsB.stream().filter(type::isInstance).map(type::cast).toList();
        }
    }

    @Test
    void aLongCommitKeepsAdvertsAndHeartbeatsGoingAndAddsTheAddressesOnlyAfterIt() {
        Net n = new Net();
        n.startWithSessionsOnFw2();
        n.demoteFw1();
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.commitsAskedByB).hasSize(1);
        assertThat(n.ofB(Action.AddAddress.class)).as("no address before the sessions are in").isEmpty();

        // two seconds of commit (a million sessions): fw1, demoted and PASSIVE, hears fw2 all along
        n.until(n.now + 2000 * MS);
        assertThat(n.a.state()).as("fw1 does not take the role back").isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.ofB(Action.SendAdvert.class).size()).as("adverts every 10 ms meanwhile").isGreaterThan(150);
        assertThat(n.ofB(Action.SendHeartbeat.class)).as("heartbeats as ACTIVE meanwhile").isNotEmpty()
                .allMatch(h -> h.state() == NodeState.ACTIVE);
        assertThat(n.ofB(Action.AddAddress.class)).isEmpty();
        assertThat(n.ofB(Action.Announce.class)).as("no GARP for addresses not held").isEmpty();

        n.actionsB.clear();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(n.commitsAskedByB.getFirst())));
        List<Class<?>> order = n.actionsB.stream().<Class<?>>map(Object::getClass).distinct().toList();
        assertThat(order).as("addresses, then GARP, then an advert").startsWith(Action.AddAddress.class,
                Action.Announce.class, Action.SendAdvert.class);
        assertThat(n.ofB(Action.AddAddress.class)).hasSize(2);
        n.until(n.now + 500 * MS);
        assertThat(n.a.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void aCommitAnsweredAtOnceKeepsTheTakeoverOrderOfANodeWithoutSessions() {
        Net n = new Net();
        n.answerAtOnce = true;
        n.startWithSessionsOnFw2();
        n.demoteFw1();
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        List<Class<?>> order = n.actionsB.stream().filter(x -> !(x instanceof Action.Record))
                .<Class<?>>map(Object::getClass).distinct().toList();
        assertThat(order).as("commit, addresses, GARP, adverts: no advert before the addresses")
                .startsWith(Action.CommitSessions.class, Action.AddAddress.class, Action.Announce.class,
                        Action.SendAdvert.class);
    }

    @Test
    void aNodeThatLeavesTheRoleWhileCommittingRemovesNothingAndIgnoresTheLateAnswer() {
        Net n = new Net();
        n.startWithSessionsOnFw2();
        n.demoteFw1();
        long first = n.commitsAskedByB.getFirst();
        n.until(n.now + 50 * MS);
        // fw2's LAN link fails mid-commit: FAULT, with nothing of the takeover to undo
        n.run(n.b, n.b.step(n.now, new Input.LinkChanged("lan0", false)));
        assertThat(n.b.state()).isEqualTo(NodeState.FAULT);
        assertThat(n.ofB(Action.RemoveAddress.class)).as("no address was added").isEmpty();
        n.actionsB.clear();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(first)));
        assertThat(n.ofB(Action.AddAddress.class)).as("the answer came too late for a takeover that is over").isEmpty();
        n.until(n.now + 500 * MS);
        assertThat(n.a.state()).as("fw1 took the role back from a faulty fw2").isEqualTo(NodeState.ACTIVE);

        // the link comes back, fw1 is demoted again: a new commit, whose answer alone adds the addresses
        n.run(n.b, n.b.step(n.now, new Input.LinkChanged("lan0", true)));
        n.until(n.now + 500 * MS);
        n.demoteFw1();
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.commitsAskedByB).hasSize(2);
        long second = n.commitsAskedByB.getLast();
        assertThat(second).isNotEqualTo(first);
        n.actionsB.clear();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(first)));
        assertThat(n.ofB(Action.AddAddress.class)).as("an old answer does not count for the new takeover").isEmpty();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(second)));
        assertThat(n.ofB(Action.AddAddress.class)).hasSize(2);
    }
}
