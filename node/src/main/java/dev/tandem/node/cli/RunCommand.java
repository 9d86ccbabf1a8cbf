package dev.tandem.node.cli;

import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.daemon.EventLog;
import dev.tandem.node.daemon.NodeDaemon;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "run", description = "Run the node daemon (SIGTERM = graceful handover).")
final class RunCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "cluster file (YAML)")
    Path config;

    @Option(names = "--node", description = "this node's name in nodes: (default: the host name)")
    String node;

    @Override
    public Integer call() throws Exception {
        ClusterConfig cfg = ConfigCommand.loadOrReport(config);
        if (cfg == null) {
            return 2;
        }
        String name = node != null ? node : ConfigCommand.hostName();
        if (!cfg.nodes().containsKey(name)) {
            System.err.println("error: node '" + name + "' is not in " + config + " (nodes: " + cfg.nodes().keySet()
                    + "); pass --node NAME");
            return 2;
        }
        EventLog log = new EventLog(System.out, name);
        NodeDaemon daemon = new NodeDaemon(cfg, name, log).clusterFile(config);
        try {
            daemon.start();
        } catch (RuntimeException e) {
            System.err.println("error: " + name + " cannot start: " + e.getMessage());
            daemon.close();
            return 2;
        }
        Thread hook = new Thread(() -> {
            dev.tandem.linux.RealtimeScheduling.enterIfConfigured(); // the graceful handover is on the failover path
            daemon.shutdown("SIGTERM");
            System.out.flush();
            // a completed graceful stop is a clean exit (0), not the JVM's 143 for "killed by SIGTERM"
            Runtime.getRuntime().halt(0);
        }, "shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        daemon.awaitStopped();
        return 0;
    }
}
