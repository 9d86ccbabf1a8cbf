package dev.tandem.node.cli;

import dev.tandem.lab.FailoverBench;
import dev.tandem.lab.Fault;
import dev.tandem.lab.LabTopology;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", description = "Benchmarks on the lab.", subcommands = {BenchCommand.Failover.class, BenchCommand.Config.class})
final class BenchCommand implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "failover", description = "Client-observed outage of a failover (1 ms probe stream).")
    static final class Failover implements Callable<Integer> {
        @Option(names = "--profile", defaultValue = "aggressive", description = "default | aggressive")
        String profile;

        @Option(names = "--fault", defaultValue = "crash", description = "crash | link | graceful | daemon-crash")
        String fault;

        @Option(names = "--runs", defaultValue = "10")
        int runs;

        @Option(names = "--vs", description = "also run this implementation on the same lab: keepalived")
        String vs;

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
