package dev.tandem.node.cli;

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

@Command(name = "config", description = "Configuration commands.", subcommands = ConfigCommand.Validate.class)
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
                + "(they exist, every VIP lies inside a subnet of its interface)")
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
            }
            System.out.println(file + ": valid (" + cfg.virtualGroups().size() + " virtual group(s), nodes "
                    + cfg.nodes().keySet() + ", profile " + cfg.cluster().profile() + ", advert interval "
                    + cfg.cluster().advertIntervalMs() + " ms)");
            return 0;
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
