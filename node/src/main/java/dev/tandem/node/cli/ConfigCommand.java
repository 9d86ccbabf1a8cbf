package dev.tandem.node.cli;

import dev.tandem.linux.ConntrackTableSize;
import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.config.ConfigError;
import dev.tandem.node.config.ConfigLoader;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import dev.tandem.node.daemon.NodeDaemon;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "config", description = "Configuration commands.", subcommands = {ConfigCommand.Validate.class,
        ConfigCommand.Commit.class, ConfigCommand.Apply.class, ConfigCommand.History.class, ConfigCommand.Diff.class,
        ConfigCommand.Rollback.class})
final class ConfigCommand implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "validate", description = "Check a cluster file; prints every error with its field path.")
    static final class Validate implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;

        @Option(names = "--node", description = "also check this node against this host's interfaces "
                + "(they exist, every VIP lies inside a subnet of its interface) and its conntrack table limits "
                + "(a warning when they are below cluster.sessions.max_entries)")
        String node;

        @Override
        public Integer call() {
            ClusterConfig cfg = loadOrReport(file);
            if (cfg == null) {
                return 1;
            }
            if (node != null) {
                if (!cfg.nodes().containsKey(node)) {
                    System.err.println(file + ": nodes." + node + ": no such node (nodes: " + cfg.nodes().keySet() + ")");
                    return 1;
                }
                try {
                    NodeDaemon.planOnThisHost(cfg, node);
                } catch (IllegalArgumentException e) {
                    System.err.println(file + ": nodes." + node + " on this host:");
                    for (String p : e.getMessage().split("; ")) {
                        System.err.println("  " + p);
                    }
                    return 1;
                }
                System.out.println(file + ": node " + node + " matches this host's interfaces");
                if (cfg.cluster().sessions().enabled()) {
                    // a warning, not an error: the node runs, but a takeover would lose or slow sessions
                    String table = ConntrackTableSize.read().shortfall(cfg.cluster().sessions().maxEntries());
                    if (table != null) {
                        System.out.println(file + ": WARNING: this host's conntrack table: " + table);
                    }
                }
            }
            System.out.println(file + ": valid (" + cfg.virtualGroups().size() + " virtual group(s), nodes "
                    + cfg.nodes().keySet() + ", profile " + cfg.cluster().profile() + ", advert interval "
                    + cfg.cluster().advertIntervalMs() + " ms)");
            return 0;
        }
    }

    /** A config sync request to the local node's control socket (root). */
    abstract static class SocketRequest implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        ApiOptions api;

        @Option(names = "--node", description = "the local node (default: this host's name)")
        String node;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        abstract String request();

        @Override
        public Integer call() {
            var out = spec.commandLine().getOut();
            var err = spec.commandLine().getErr();
            try {
                ClusterConfig cfg = api.requireCluster("the control socket");
                String n = node != null ? node : hostName();
                String who = System.getProperty("user.name", "operator") + " via CLI";
                String answer = dev.tandem.node.daemon.ControlServer.request(
                        Path.of(cfg.cluster().runDir(), n + ".sock"), request() + " | " + who);
                if (answer.startsWith("ok: ")) {
                    out.print(answer.substring(4));
                    return 0;
                }
                err.print(answer);
                return 1;
            } catch (ApiOptions.UsageException e) {
                err.println("error: " + e.getMessage());
                return 2;
            } catch (java.io.IOException e) {
                err.println("error: the node is not running here (" + e.getMessage() + ")");
                return 1;
            } finally {
                out.flush();
                err.flush();
            }
        }
    }

    @Command(name = "commit", description = "On the primary: re-read the ruleset, the declared files and the shared part of the cluster file, validate, "
            + "record a new version and sync it to the peers.")
    static final class Commit extends SocketRequest {
        String request() {
            return "config-commit";
        }
    }

    @Command(name = "apply", description = "On the primary: install FILE as the ruleset (if nft accepts it), then commit.")
    static final class Apply extends SocketRequest {
        @Parameters(paramLabel = "FILE")
        Path file;

        String request() {
            return "config-apply " + file.toAbsolutePath().normalize();
        }
    }

    @Command(name = "history", description = "The recorded configuration versions.")
    static final class History extends SocketRequest {
        String request() {
            return "config-history";
        }
    }

    @Command(name = "diff", description = "What changed between two recorded versions.")
    static final class Diff extends SocketRequest {
        @Parameters(index = "0", paramLabel = "A")
        long a;

        @Parameters(index = "1", paramLabel = "B")
        long b;

        String request() {
            return "config-diff " + a + " " + b;
        }
    }

    @Command(name = "rollback", description = "On the primary: a new version with the content of VERSION, applied "
            + "here and synced.")
    static final class Rollback extends SocketRequest {
        @Parameters(paramLabel = "VERSION")
        long version;

        String request() {
            return "config-rollback " + version;
        }
    }

    /** Loads a cluster file or prints every error to stderr and returns null. */
    static ClusterConfig loadOrReport(Path file) {
        ConfigLoader.Result r = ConfigLoader.load(file);
        if (r.errors().isEmpty()) {
            return r.config();
        }
        System.err.println(file + ": " + r.errors().size() + " error(s)");
        for (ConfigError e : r.errors()) {
            System.err.println("  " + e);
        }
        return null;
    }

    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "localhost";
        }
    }
}
