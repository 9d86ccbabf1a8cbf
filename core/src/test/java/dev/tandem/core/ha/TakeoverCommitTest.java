package dev.tandem.core.ha;

import static org.assertj.core.api.Assertions.assertThat;

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

    /** PeerLinksTest's pair with session sync on fw2, started and settled: fw1 ACTIVE, fw2 PASSIVE. */
    static PeerLinksTest.Net startWithSessionsOnFw2(boolean answerAtOnce) {
        PeerLinksTest.Net n = new PeerLinksTest.Net();
        n.answerCommitsAtOnce = answerAtOnce;
        n.forbidTwoActives = true;
        n.run(n.a, n.a.start(0, Set.of()));
        n.run(n.b, n.b.start(0, Set.of()));
        n.run(n.b, n.b.step(0, new Input.SessionSyncState(true, 1_000_000)));
        n.until(500 * MS);
        assertThat(n.a.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.b.state()).isEqualTo(NodeState.PASSIVE);
        n.actionsB.clear();
        return n;
    }

    static void demoteFw1(PeerLinksTest.Net n) {
        n.run(n.a, n.a.step(n.now, new Input.Command(Input.CommandKind.DEMOTE, "test")));
    }

    static <T extends Action> List<T> ofB(PeerLinksTest.Net n, Class<T> type) {
        return n.actionsB.stream().filter(type::isInstance).map(type::cast).toList();
    }

    @Test
    void aLongCommitKeepsAdvertsAndHeartbeatsGoingAndAddsTheAddressesOnlyAfterIt() {
        PeerLinksTest.Net n = startWithSessionsOnFw2(false);
        demoteFw1(n);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.commitsAskedByB).hasSize(1);
        assertThat(ofB(n, Action.AddAddress.class)).as("no address before the sessions are in").isEmpty();

        // two seconds of commit (a million sessions): fw1, demoted and PASSIVE, hears fw2 all along
        n.until(n.now + 2000 * MS);
        assertThat(n.a.state()).as("fw1 does not take the role back").isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(ofB(n, Action.SendAdvert.class).size()).as("adverts every 10 ms meanwhile").isGreaterThan(150);
        assertThat(ofB(n, Action.SendHeartbeat.class)).as("heartbeats as ACTIVE meanwhile").isNotEmpty()
                .allMatch(h -> h.state() == NodeState.ACTIVE);
        assertThat(ofB(n, Action.AddAddress.class)).isEmpty();
        assertThat(ofB(n, Action.Announce.class)).as("no GARP for addresses not held").isEmpty();

        n.actionsB.clear();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(n.commitsAskedByB.getFirst())));
        List<Class<?>> order = n.actionsB.stream().<Class<?>>map(Object::getClass).distinct().toList();
        assertThat(order).as("addresses, then GARP, then an advert").startsWith(Action.AddAddress.class,
                Action.Announce.class, Action.SendAdvert.class);
        assertThat(ofB(n, Action.AddAddress.class)).hasSize(2);
        n.until(n.now + 500 * MS);
        assertThat(n.a.state()).isEqualTo(NodeState.PASSIVE);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
    }

    @Test
    void aCommitAnsweredAtOnceKeepsTheTakeoverOrderOfANodeWithoutSessions() {
        PeerLinksTest.Net n = startWithSessionsOnFw2(true);
        demoteFw1(n);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        List<Class<?>> order = n.actionsB.stream().filter(x -> !(x instanceof Action.Record))
                .<Class<?>>map(Object::getClass).distinct().toList();
        assertThat(order).as("commit, addresses, GARP, adverts: no advert before the addresses")
                .startsWith(Action.CommitSessions.class, Action.AddAddress.class, Action.Announce.class,
                        Action.SendAdvert.class);
    }

    @Test
    void aNodeThatLeavesTheRoleWhileCommittingRemovesNothingAndIgnoresTheLateAnswer() {
        PeerLinksTest.Net n = startWithSessionsOnFw2(false);
        demoteFw1(n);
        long first = n.commitsAskedByB.getFirst();
        n.until(n.now + 50 * MS);
        // fw2's LAN link fails mid-commit: FAULT, with nothing of the takeover to undo
        n.run(n.b, n.b.step(n.now, new Input.LinkChanged("lan0", false)));
        assertThat(n.b.state()).isEqualTo(NodeState.FAULT);
        assertThat(ofB(n, Action.RemoveAddress.class)).as("no address was added").isEmpty();
        n.actionsB.clear();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(first)));
        assertThat(ofB(n, Action.AddAddress.class)).as("the answer came too late for a takeover that is over").isEmpty();
        n.until(n.now + 500 * MS);
        assertThat(n.a.state()).as("fw1 took the role back from a faulty fw2").isEqualTo(NodeState.ACTIVE);

        // the link comes back, fw1 is demoted again: a new commit, whose answer alone adds the addresses
        n.run(n.b, n.b.step(n.now, new Input.LinkChanged("lan0", true)));
        n.until(n.now + 500 * MS);
        demoteFw1(n);
        assertThat(n.b.state()).isEqualTo(NodeState.ACTIVE);
        assertThat(n.commitsAskedByB).hasSize(2);
        long second = n.commitsAskedByB.getLast();
        assertThat(second).isNotEqualTo(first);
        n.actionsB.clear();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(first)));
        assertThat(ofB(n, Action.AddAddress.class)).as("an old answer does not count for the new takeover").isEmpty();
        n.run(n.b, n.b.step(n.now, new Input.SessionsCommitted(second)));
        assertThat(ofB(n, Action.AddAddress.class)).hasSize(2);
    }
}
