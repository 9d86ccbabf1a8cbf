package dev.tandem.node.cli;

import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.daemon.ControlServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Operator commands sent to a running node: each is recorded as an event naming who asked. */
final class NodeCommands {
    private NodeCommands() {}

    abstract static class Base implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, defaultValue = "/etc/tandem/tandem.yaml", description = "cluster file")
        Path config;

        @Option(names = "--node", description = "the node to act on (default: the host name)")
        String node;

        @Option(names = "--via", description = "the local node to send it through (over the peer channel when it is "
                + "not --node; default: --node itself if it runs here)")
        String via;

        abstract String verb();

        @Override
        public Integer call() {
            ClusterConfig cfg = ConfigCommand.loadOrReport(config);
            if (cfg == null) {
                return 2;
            }
            String n = node != null ? node : ConfigCommand.hostName();
            String local = via != null ? via : n;
            String who = System.getProperty("user.name", "operator") + " via CLI";
            String request = local.equals(n) ? verb() + " " + who : verb() + "@" + n + " " + who;
            try {
                String answer = ControlServer.request(Path.of(cfg.cluster().runDir(), local + ".sock"), request);
                System.out.print(answer);
                return answer.startsWith("ok") ? 0 : 1;
            } catch (IOException e) {
                System.err.println("error: node " + n + " is not running here: " + e.getMessage());
                return 1;
            }
        }
    }

    @Command(name = "suspend", description = "Keep this node out of the election (hands over if active).")
    static final class Suspend extends Base {
        String verb() {
            return "suspend";
        }
    }

    @Command(name = "resume", description = "Let a suspended node take part in the election again.")
    static final class Resume extends Base {
        String verb() {
            return "resume";
        }
    }

    @Command(name = "demote", description = "The active node gives up the role now (priority 0 advert).")
    static final class Demote extends Base {
        String verb() {
            return "demote";
        }
    }
}
