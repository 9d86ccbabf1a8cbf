package dev.tandem.node.cli;

import dev.tandem.lab.CommitBench;
import dev.tandem.lab.CommitPath;
import dev.tandem.lab.FailoverBench;
import dev.tandem.lab.Fault;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.SessionFailoverBench;
import dev.tandem.lab.SyncBench;
import dev.tandem.lab.SyntheticSessions;
import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackSocket;
import dev.tandem.node.sync.SessionCodec;
import dev.tandem.node.sync.SessionCommit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", description = "Benchmarks on the lab.", subcommands = {BenchCommand.Failover.class,
        BenchCommand.Commit.class, BenchCommand.Sync.class, BenchCommand.Config.class})
final class BenchCommand implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "failover", description = "Client-observed outage of a failover (loss-derived, 0.2 ms probe stream); with "
            + "--sessions N: TCP sessions surviving a crash of the active.")
    static final class Failover implements Callable<Integer> {
        @Option(names = "--profile", defaultValue = "aggressive", description = "default | aggressive")
        String profile;

        @Option(names = "--fault", defaultValue = "crash", description = "crash | link | graceful | daemon-crash")
        String fault;

        @Option(names = "--runs", description = "default 10; 1 with --sessions")
        Integer runs;

        @Option(names = "--sessions", defaultValue = "0",
                description = "N TCP connections through SNAT: how many survive a crash of the active (and the no_session "
                        + "drops of the new active); --vs conntrackd adds keepalived + conntrackd")
        int sessions;

        @Option(names = "--vs", description = "also run this implementation on the same lab: keepalived "
                + "(conntrackd with --sessions)")
        String vs;

        @Option(names = "--table", defaultValue = "0", description = "with --sessions: M more idle synthetic sessions in the "
                + "active's table, so the new active commits M + N before its addresses move (0..2000000)")
        int table;

        @Option(names = "--mode", defaultValue = "cache", description = "with --sessions: Tandem's session mode, cache (the "
                + "new active commits its cache before the addresses move) or direct (the passive writes the sessions into "
                + "its kernel as they come)")
        String mode;

        @Option(names = "--ipv6", description = "probe over IPv6")
        boolean ipv6;

        @Option(names = "--prefix", defaultValue = LabTopology.DEFAULT_PREFIX)
        String prefix;

        @Option(names = "--monitors", defaultValue = "on", description = "on | off: the lab's monitors on the Tandem nodes")
        String monitors;

        @Override
        public Integer call() {
            if (!monitors.equals("on") && !monitors.equals("off")) {
                System.err.println("error: --monitors must be on or off");
                return 2;
            }
            if (sessions < 0 || sessions > 5000) {
                System.err.println("error: --sessions must be 0..5000");
                return 2;
            }
            if (sessions > 0) {
                if (vs != null && !vs.equals("conntrackd")) {
                    System.err.println("error: with --sessions, --vs supports conntrackd only");
                    return 2;
                }
                int r = runs == null ? 1 : runs;
                if (r < 1 || r > 100) {
                    System.err.println("error: --runs must be 1..100");
                    return 2;
                }
                if (table < 0 || table > 2_000_000) {
                    System.err.println("error: --table must be 0..2000000");
                    return 2;
                }
                if (!mode.equals("cache") && !mode.equals("direct")) {
                    System.err.println("error: --mode must be cache or direct");
                    return 2;
                }
                SessionFailoverBench.run(new SessionFailoverBench.Options(prefix, sessions, r, vs != null, table, mode),
                        System.out);
                return 0;
            }
            if (runs == null) {
                runs = 10;
            }
            if (vs != null && !vs.equals("keepalived")) {
                System.err.println("error: --vs supports keepalived only");
                return 2;
            }
            if (runs < 1 || runs > 1000) {
                System.err.println("error: --runs must be 1..1000");
                return 2;
            }
            FailoverBench.run(new FailoverBench.Options(prefix, profile, Fault.parse(fault), runs, vs != null, ipv6,
                    monitors.equals("on")),
                    System.out);
            return 0;
        }
    }

    @Command(name = "commit", description = "Time to commit N synthetic sessions into a kernel's conntrack table "
            + "(as on takeover), in a fresh namespace.")
    static final class Commit implements Callable<Integer> {
        @Option(names = "--entries", defaultValue = "100000")
        int entries;

        @Option(names = "--runs", defaultValue = "3")
        int runs;

        @Option(names = "--cli-entries", defaultValue = "500",
                description = "also time `conntrack -I` (a process per entry) for this many entries; 0: skip")
        int cliEntries;

        @Option(names = "--prefix", defaultValue = "tbench-")
        String prefix;

        @Option(names = "--path", defaultValue = "daemon", description = "daemon: the takeover's own commit of cached "
                + "session-sync values (decoded on the fly); entries: ConntrackSocket.create of ready-made entries")
        String path;

        @Option(names = "--nat", defaultValue = "port-translated", description = "the sessions' NAT: port-translated "
                + "(source NAT to one address, every port translated: the kernel's worst case), port-kept (source NAT "
                + "keeping the client ports, as masquerading does while a port is free), none (routed)")
        String nat;

        @Override
        public Integer call() {
            SyntheticSessions.Nat kind;
            try {
                kind = SyntheticSessions.Nat.of(nat);
            } catch (IllegalArgumentException e) {
                System.err.println("error: --nat: " + e.getMessage());
                return 2;
            }
            if (entries < 1 || entries > 10_000_000 || runs < 1 || runs > 100 || cliEntries < 0 || cliEntries > 10_000) {
                System.err.println("error: --entries 1..10000000, --runs 1..100, --cli-entries 0..10000");
                return 2;
            }
            CommitPath<?> p = switch (path) {
                case "daemon" -> DAEMON_COMMIT;
                case "entries" -> CommitPath.ENTRIES;
                default -> null;
            };
            if (p == null) {
                System.err.println("error: --path is daemon or entries, not " + path);
                return 2;
            }
            CommitBench.run(new CommitBench.Options(prefix, entries, runs, cliEntries, p, kind), System.out);
            return 0;
        }
    }

    /** What a takeover runs: the session cache's values (SessionCodec bytes) through SessionCommit. */
    static final CommitPath<List<byte[]>> DAEMON_COMMIT = new CommitPath<>() {
        @Override
        public String description() {
            return "the daemon's takeover commit (SessionCommit of cached session-sync values)";
        }

        @Override
        public List<byte[]> prepare(List<ConntrackEntry> entries) {
            List<byte[]> values = new ArrayList<>(entries.size());
            for (ConntrackEntry e : entries) {
                values.add(SessionCodec.value(e));
            }
            return values;
        }

        @Override
        public Committed commit(ConntrackSocket ct, List<byte[]> values) {
            SessionCommit.Result r = SessionCommit.commit(ct, values);
            int refused = r.failed() + r.undecodable();
            return new Committed(r.committed(), refused, refused == 0 ? null
                    : r.failed() + " refused by the kernel, " + r.undecodable() + " undecodable");
        }
    };

    @Command(name = "sync", description = "Session sync under load: events/s replicated, lag, CPU per event on both nodes.")
    static final class Sync implements Callable<Integer> {
        @Option(names = "--rate", defaultValue = "0", description = "sessions created per second; 0: as fast as possible")
        int rate;

        @Option(names = "--seconds", defaultValue = "10")
        int seconds;

        @Option(names = "--live", defaultValue = "100000", description = "sessions kept before deleting the oldest")
        int live;

        @Option(names = "--warmup", defaultValue = "20", description = "seconds of traffic before the measured ones "
                + "(JIT, TLS intrinsics); 0: measure from a cold start")
        int warmup;

        @Option(names = "--vs", description = "also run this implementation on the same lab: conntrackd")
        String vs;

        @Option(names = "--prefix", defaultValue = "tbench-")
        String prefix;

        @Option(names = "--mode", defaultValue = "cache", description = "Tandem's session mode: cache (the default) or "
                + "direct (fw2 also writes every change into its kernel as it comes)")
        String mode;

        @Override
        public Integer call() {
            if (!mode.equals("cache") && !mode.equals("direct")) {
                System.err.println("error: --mode must be cache or direct");
                return 2;
            }
            if (vs != null && !vs.equals("conntrackd")) {
                System.err.println("error: --vs supports conntrackd only");
                return 2;
            }
            if (rate < 0 || seconds < 1 || seconds > 600 || live < 1 || live > 250_000 || warmup < 0 || warmup > 600) {
                System.err.println("error: --rate >= 0, --seconds 1..600, --live 1..250000, --warmup 0..600");
                return 2;
            }
            SyncBench.run(new SyncBench.Options(prefix, rate, seconds, live, vs != null, warmup, mode), System.out);
            return 0;
        }
    }

    @Command(name = "config", description = "Config sync on the lab: time from `config apply` on fw1 (primary) to "
            + "the ruleset running on fw2 (its version moves only after the nftables transaction committed).")
    static final class Config implements Callable<Integer> {
        @Option(names = "--rules", defaultValue = "10000", description = "rules in the ruleset")
        int rules;

        @Option(names = "--runs", defaultValue = "5")
        int runs;

        @Option(names = "--prefix", defaultValue = LabTopology.DEFAULT_PREFIX)
        String prefix;

        @Override
        public Integer call() throws Exception {
            if (rules < 1 || rules > 200_000 || runs < 1 || runs > 100) {
                System.err.println("error: --rules 1..200000, --runs 1..100");
                return 2;
            }
            ConfigBench.run(prefix, rules, runs, System.out);
            return 0;
        }
    }
}
