package dev.tandem.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.config.ConfigSyncState.Effect;
import dev.tandem.core.config.ConfigSyncState.Status;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two nodes, seeded chaos: lossy and reordering delivery, random commits on the primary, apply
 * failures, receiver restarts (state rebuilt from its "disk"), failovers and short split brains
 * where both commit. Invariants checked after every event: no node's version goes back, and
 * what a node runs is what it acknowledged. Then a quiet period: both must converge to the
 * primary's version and content, and both must say IN_SYNC.
 */
class ConfigSyncSimTest {
    static final long TICK = 100_000_000L; // 100 ms
    static final String[] IDS = {"a", "b"};

    record InFlight(long at, String to, String from, ConfigSyncMessage m) {}

    static final class Node {
        final String id;
        ConfigSyncState state;
        ConfigVersion diskVersion = ConfigVersion.initial();
        ConfigBundle disk = ConfigBundle.empty();
        long maxCounter;
        boolean primary;

        Node(String id) {
            this.id = id;
            state = new ConfigSyncState(diskVersion, disk, 50, 5 * TICK);
        }

        void restart() {
            state = new ConfigSyncState(diskVersion, disk, 50, 5 * TICK);
            if (primary) {
                state.becomePrimary();
            }
        }

        void check() {
            assertThat(state.version().counter()).as(id + " version went back").isGreaterThanOrEqualTo(maxCounter);
            maxCounter = state.version().counter();
            if (!primary) {
                assertThat(state.version()).as(id + " runs what it applied").isEqualTo(diskVersion);
            }
        }
    }

    Random rnd;
    List<InFlight> net = new ArrayList<>();
    Node[] nodes = {new Node("a"), new Node("b")};
    double loss;
    double applyFailure;
    int incremental;
    int complete;
    int applyFailures;
    int restarts;
    int failovers;
    int splitBrains;

    Node other(Node n) {
        return n == nodes[0] ? nodes[1] : nodes[0];
    }

    Node byId(String id) {
        return id.equals("a") ? nodes[0] : nodes[1];
    }

    void send(long now, Node from, String to, ConfigSyncMessage m) {
        if (rnd.nextDouble() < loss) {
            return;
        }
        if (m instanceof ConfigSyncMessage.Offer o) {
            if (o.isIncremental()) {
                incremental++;
            } else {
                complete++;
            }
        }
        net.add(new InFlight(now + TICK * rnd.nextInt(4), to, from.id, m));
    }

    void handle(long now, Node n, List<Effect> effects) {
        for (Effect e : effects) {
            switch (e) {
                case Effect.Send s -> send(now, n, s.peer(), s.message());
                case Effect.Apply a -> {
                    List<Effect> outcome;
                    if (rnd.nextDouble() < applyFailure) {
                        applyFailures++;
                        outcome = n.state.applyFailed(a.version(), "file:/etc/x.conf: reload command exited 1");
                    } else {
                        n.disk = a.bundle();
                        n.diskVersion = a.version();
                        outcome = n.state.applied(a.version());
                    }
                    handle(now, n, outcome);
                }
            }
            n.check();
        }
        if (n.primary) {
            n.disk = n.state.bundle();
            n.diskVersion = n.state.version();
        }
    }

    ConfigBundle mutate(ConfigBundle b) {
        return switch (rnd.nextInt(5)) {
            case 0 -> b.withNftables("table inet t { chain c { ip saddr 10.0.0." + rnd.nextInt(256) + " drop; } }\n");
            case 1 -> b.withTandem("advert_interval_ms: " + (100 + rnd.nextInt(900)) + "\n");
            case 2 -> b.withFile("/etc/f" + rnd.nextInt(6) + ".conf", "v=" + rnd.nextInt(1000) + "\n",
                    rnd.nextBoolean() ? "systemctl reload f" : "");
            case 3 -> b.files().isEmpty() ? b : b.without(ConfigBundle.fileItem(
                    List.copyOf(b.files().keySet()).get(rnd.nextInt(b.files().size()))));
            default -> b.withFile("/etc/big.conf", "x".repeat(rnd.nextInt(2000)), "");
        };
    }

    void setPrimary(Node n, boolean primary) {
        n.primary = primary;
        if (primary) {
            n.state.becomePrimary();
        } else {
            n.state.becomeReceiver();
        }
    }

    void step(long now, int t, boolean chaos) {
        for (Node n : nodes) {
            if (n.primary && chaos && rnd.nextDouble() < 0.08) {
                handle(now, n, n.state.commit(now, mutate(n.state.bundle())));
            }
        }
        if (chaos && rnd.nextDouble() < 0.01) {
            Node r = nodes[rnd.nextInt(2)];
            restarts++;
            r.restart();
            send(now, r, other(r).id, r.state.status());
        }
        if (chaos && rnd.nextDouble() < 0.004) {
            failovers++;
            boolean aPrimary = nodes[0].primary;
            setPrimary(nodes[0], !aPrimary);
            setPrimary(nodes[1], aPrimary);
            for (Node n : nodes) {
                send(now, n, other(n).id, n.state.status());
            }
        }
        if (chaos && rnd.nextDouble() < 0.002 && !(nodes[0].primary && nodes[1].primary)) {
            splitBrains++;
            for (Node n : nodes) {
                if (!n.primary) {
                    setPrimary(n, true);
                }
            }
        }
        if (nodes[0].primary && nodes[1].primary && (!chaos || rnd.nextDouble() < 0.05)) {
            setPrimary(nodes[rnd.nextInt(2)], false); // the HA layer settles who stays primary
            for (Node n : nodes) {
                send(now, n, other(n).id, n.state.status());
            }
        }
        if (t % 10 == 0) { // hellos carry versions both ways
            for (Node n : nodes) {
                send(now, n, other(n).id, n.state.status());
            }
        }
        for (Node n : nodes) {
            handle(now, n, n.state.tick(now));
        }
        List<InFlight> due = new ArrayList<>();
        for (Iterator<InFlight> it = net.iterator(); it.hasNext(); ) {
            InFlight f = it.next();
            if (f.at() <= now) {
                due.add(f);
                it.remove();
            }
        }
        for (InFlight f : due) {
            Node n = byId(f.to());
            handle(now, n, n.state.received(now, f.from(), f.m()));
        }
        for (Node n : nodes) {
            n.check();
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 42, 1234})
    void convergesWithMonotonicVersions(long seed) {
        rnd = new Random(seed);
        setPrimary(nodes[0], true);
        setPrimary(nodes[1], false);
        loss = 0.3;
        applyFailure = 0.05;
        long now = 0;
        int t = 0;
        for (; t < 4000; t++, now += TICK) {
            step(now, t, true);
        }
        loss = 0;
        applyFailure = 0;
        int forced = 0;
        for (int quiet = 0; quiet < 300; quiet++, t++, now += TICK) {
            step(now, t, false);
            Node p = nodes[0].primary ? nodes[0] : nodes[1];
            if (quiet == 100 && other(p).state.self().status() == Status.OUT_OF_SYNC) {
                forced++; // the last complete offer failed: an operator's force sync
                handle(now, p, p.state.forceSync(now));
            }
        }
        Node p = nodes[0].primary ? nodes[0] : nodes[1];
        Node r = other(p);
        assertThat(p.primary && !r.primary).isTrue();
        assertThat(r.state.version()).isEqualTo(p.state.version());
        assertThat(r.disk).isEqualTo(p.state.bundle());
        assertThat(r.state.self().status()).isEqualTo(Status.IN_SYNC);
        assertThat(p.state.peer(r.id).status()).isEqualTo(Status.IN_SYNC);
        assertThat(incremental).isPositive();
        System.out.printf("seed %d: version %s, offers %d incremental / %d complete, %d apply failures, %d restarts,"
                + " %d failovers, %d split brains, %d force syncs%n", seed, p.state.version(), incremental, complete,
                applyFailures, restarts, failovers, splitBrains, forced);
    }
}
