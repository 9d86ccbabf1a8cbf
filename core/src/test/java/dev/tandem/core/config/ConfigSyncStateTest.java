package dev.tandem.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.core.config.ConfigSyncMessage.Ack;
import dev.tandem.core.config.ConfigSyncMessage.Nack;
import dev.tandem.core.config.ConfigSyncMessage.Offer;
import dev.tandem.core.config.ConfigSyncMessage.RequestFull;
import dev.tandem.core.config.ConfigSyncState.Effect;
import dev.tandem.core.config.ConfigSyncState.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigSyncStateTest {
    static final long SEC = 1_000_000_000L;

    static ConfigSyncState fresh() {
        return new ConfigSyncState(ConfigVersion.initial(), ConfigBundle.empty(), 50, 3 * SEC);
    }

    static ConfigSyncState primary() {
        ConfigSyncState p = fresh();
        p.becomePrimary();
        return p;
    }

    static ConfigSyncMessage only(List<Effect> effects) {
        assertThat(effects).hasSize(1).first().isInstanceOf(Effect.Send.class);
        return ((Effect.Send) effects.getFirst()).message();
    }

    static Effect.Apply apply(List<Effect> effects) {
        assertThat(effects).hasSize(1).first().isInstanceOf(Effect.Apply.class);
        return (Effect.Apply) effects.getFirst();
    }

    static final ConfigBundle V1 = ConfigBundleTest.sample();
    static final ConfigBundle V2 = V1.withFile("/etc/motd", "changed\n", "");
    static final ConfigBundle V3 = V2.withNftables("table ip t {}\n");

    @Test
    void commitMakesANewVersionOnlyWhenContentChanges() {
        ConfigSyncState p = primary();
        p.commit(0, V1);
        assertThat(p.version()).isEqualTo(new ConfigVersion(1, V1.hash()));
        assertThat(p.commit(0, V1)).isEmpty();
        assertThat(p.version().counter()).isEqualTo(1);
        assertThatThrownBy(() -> fresh().commit(0, V2)).hasMessageContaining("only possible on the primary");
    }

    @Test
    void inSyncPeerGetsNothingAKnownVersionGetsADeltaAnUnknownOneEverything() {
        ConfigSyncState p = primary();
        ConfigSyncState r = fresh();
        assertThat(p.received(0, "b", r.status())).isEmpty();
        assertThat(p.peer("b").status()).isEqualTo(Status.IN_SYNC);

        Offer o = (Offer) only(p.commit(1, V1));
        assertThat(o.isIncremental()).isTrue();
        assertThat(o.delta().base()).isEqualTo(ConfigVersion.initial());
        assertThat(p.peer("b").status()).isEqualTo(Status.SYNCING);

        Effect.Apply a = apply(r.received(1, "a", o));
        assertThat(a.bundle()).isEqualTo(V1);
        assertThat(a.touched()).containsExactly("file:/etc/dnsmasq.d/lan.conf", "file:/etc/motd", "nftables", "tandem");
        assertThat(r.self().status()).isEqualTo(Status.SYNCING);
        assertThat(r.received(1, "a", o)).as("duplicate while applying").isEmpty();
        Ack ack = (Ack) only(r.applied(a.version()));
        assertThat(ack.version()).isEqualTo(p.version());
        assertThat(r.self().status()).isEqualTo(Status.IN_SYNC);
        assertThat(p.received(2, "b", ack)).isEmpty();
        assertThat(p.peer("b").status()).isEqualTo(Status.IN_SYNC);

        // second change: only the motd travels
        Offer o2 = (Offer) only(p.commit(3, V2));
        assertThat(o2.delta().changed()).containsOnlyKeys("file:/etc/motd");
        assertThat(o2.delta().removed()).isEmpty();

        // a peer with a version the primary never had gets a complete offer
        ConfigSyncState stranger = new ConfigSyncState(new ConfigVersion(1, V3.hash()), V3, 50, SEC);
        Offer full = (Offer) only(p.received(4, "c", stranger.status()));
        assertThat(full.isIncremental()).isFalse();
        assertThat(full.full()).isEqualTo(V2);
    }

    @Test
    void aDeltaFromAnotherBaseMakesTheReceiverAskForEverything() {
        ConfigSyncState p = primary();
        p.received(0, "b", new ConfigSyncMessage.Status(ConfigVersion.initial()));
        p.commit(0, V1);
        Offer o2 = (Offer) only(p.commit(0, V2)); // delta from 0 to 2 (peer still at 0)
        // the receiver meanwhile runs something else at counter 1
        ConfigSyncState r = new ConfigSyncState(new ConfigVersion(1, V3.hash()), V3, 50, SEC);
        RequestFull rf = (RequestFull) only(r.received(1, "a", o2));
        assertThat(rf.reason()).contains("delta is from 0/");
        Offer full = (Offer) only(p.received(1, "b", rf));
        assertThat(full.isIncremental()).isFalse();
        Effect.Apply a = apply(r.received(2, "a", full));
        assertThat(a.complete()).isTrue();
        r.applied(a.version());
        assertThat(r.version()).isEqualTo(p.version());
    }

    @Test
    void failedIncrementalIsFollowedByACompleteOneAndAFailedCompleteOneIsOutOfSyncWithTheReason() {
        ConfigSyncState p = primary();
        ConfigSyncState r = fresh();
        p.received(0, "b", r.status());
        Offer o = (Offer) only(p.commit(0, V1));
        Effect.Apply a = apply(r.received(0, "a", o));
        Nack n = (Nack) only(r.applyFailed(a.version(), "nftables: line 2: syntax error"));
        assertThat(n.kept()).isEqualTo(ConfigVersion.initial());
        assertThat(r.version()).isEqualTo(ConfigVersion.initial());
        assertThat(r.bundle()).isEqualTo(ConfigBundle.empty());
        assertThat(r.self().status()).isEqualTo(Status.OUT_OF_SYNC);
        assertThat(r.self().reason()).contains("line 2");

        Offer full = (Offer) only(p.received(1, "b", n));
        assertThat(full.isIncremental()).isFalse();
        a = apply(r.received(1, "a", full));
        Nack n2 = (Nack) only(r.applyFailed(a.version(), "file:/etc/motd: reload command exited 1"));
        assertThat(p.received(2, "b", n2)).isEmpty();
        assertThat(p.peer("b").status()).isEqualTo(Status.OUT_OF_SYNC);
        assertThat(p.peer("b").reason()).contains("/etc/motd");
        // no hammering on hellos or ticks while the same version would fail again
        assertThat(p.received(9 * SEC, "b", r.status())).isEmpty();
        assertThat(p.tick(20 * SEC)).isEmpty();
        // a force sync tries again
        Offer again = (Offer) only(p.forceSync(21 * SEC));
        assertThat(again.isIncremental()).isFalse();
        r.applied(apply(r.received(21 * SEC, "a", again)).version());
        p.received(22 * SEC, "b", new Ack(r.version()));
        assertThat(p.peer("b").status()).isEqualTo(Status.IN_SYNC);
        assertThat(r.self().status()).isEqualTo(Status.IN_SYNC);
    }

    @Test
    void aPeerAheadMakesThePrimaryReissueAboveItSoNobodyGoesBack() {
        ConfigSyncState p = primary();
        p.commit(0, V1); // p at 1
        ConfigSyncState old = new ConfigSyncState(new ConfigVersion(5, V3.hash()), V3, 50, SEC); // ex-primary at 5
        Offer o = (Offer) only(p.received(0, "b", old.status()));
        assertThat(o.version()).isEqualTo(new ConfigVersion(6, V1.hash()));
        assertThat(p.version()).isEqualTo(o.version());
        assertThat(o.isIncremental()).isFalse();
        old.applied(apply(old.received(0, "a", o)).version());
        assertThat(old.version()).isEqualTo(p.version());
        assertThat(old.bundle()).isEqualTo(V1);
    }

    @Test
    void aReceiverRefusesToGoBack() {
        ConfigSyncState r = new ConfigSyncState(new ConfigVersion(5, V3.hash()), V3, 50, SEC);
        Nack n = (Nack) only(r.received(0, "a", Offer.complete(new ConfigVersion(4, V1.hash()), V1)));
        assertThat(n.reason()).contains("would go back");
        assertThat(r.version().counter()).isEqualTo(5);
        assertThat(r.self().status()).isEqualTo(Status.OUT_OF_SYNC);
        Nack same = (Nack) only(r.received(0, "a", Offer.complete(new ConfigVersion(5, V1.hash()), V1)));
        assertThat(same.reason()).contains("would go back");
    }

    @Test
    void aDamagedCompleteOfferIsNotApplied() {
        ConfigSyncState r = fresh();
        RequestFull rf = (RequestFull) only(r.received(0, "a", Offer.complete(new ConfigVersion(1, V1.hash()), V2)));
        assertThat(rf.reason()).contains("arrived with hash");
        assertThat(r.applying()).isFalse();
    }

    @Test
    void rollbackIsANewVersionWithOldContent() {
        ConfigSyncState p = primary();
        p.commit(0, V1);
        ConfigVersion v1 = p.version();
        p.commit(0, V2);
        p.commit(0, V3);
        p.rollback(0, v1, V1);
        assertThat(p.version()).isEqualTo(new ConfigVersion(4, V1.hash()));
        assertThat(p.bundle()).isEqualTo(V1);
        assertThatThrownBy(() -> p.rollback(0, v1, V2)).hasMessageContaining("hash");
    }

    @Test
    void unansweredOffersAreResentAfterTheRetryInterval() {
        ConfigSyncState p = primary();
        p.received(0, "b", new ConfigSyncMessage.Status(ConfigVersion.initial()));
        assertThat(p.commit(0, V1)).hasSize(1);
        assertThat(p.tick(SEC)).isEmpty();
        assertThat(p.received(SEC, "b", new ConfigSyncMessage.Status(ConfigVersion.initial()))).isEmpty();
        assertThat(p.tick(3 * SEC)).hasSize(1);
    }

    @Test
    void helloDriftPromptsAStatusAndAPrimaryIgnoresOffers() {
        ConfigSyncState r = fresh();
        assertThat(only(r.received(0, "a", new ConfigSyncMessage.Status(new ConfigVersion(3, V1.hash())))))
                .isEqualTo(r.status());
        assertThat(r.self().reason()).contains("primary has 3/");
        ConfigSyncState p = primary();
        assertThat(p.received(0, "x", Offer.complete(new ConfigVersion(9, V1.hash()), V1))).isEmpty();
        assertThat(p.version().counter()).isZero();
    }
}
