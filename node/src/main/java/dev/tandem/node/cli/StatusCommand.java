package dev.tandem.node.cli;

import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.daemon.ControlServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "status", description = "Show role, state, priority per VG, who is master and the last transitions.")
final class StatusCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, defaultValue = "/etc/tandem/tandem.yaml", description = "cluster file")
    Path config;

    @Option(names = "--node", description = "only this node (default: every node with a control socket here)")
    String node;

    @Option(names = "--json", description = "JSON for scripts")
    boolean json;

    @Override
    public Integer call() {
        ClusterConfig cfg = ConfigCommand.loadOrReport(config);
        if (cfg == null) {
            return 2;
        }
        List<String> names = node != null ? List.of(node) : new ArrayList<>(cfg.nodes().keySet());
        int reachable = 0;
        List<String> jsons = new ArrayList<>();
        for (String n : names) {
            Path sock = Path.of(cfg.cluster().runDir(), n + ".sock");
            try {
                String answer = ControlServer.request(sock, json ? "status-json" : "status");
                reachable++;
                if (json) {
                    jsons.add(answer.trim());
                } else {
                    System.out.print(answer);
                    System.out.println();
                }
            } catch (IOException e) {
                if (json) {
                    jsons.add("{\"node\":\"" + n + "\",\"state\":\"UNREACHABLE\"}");
                } else {
                    System.out.println(n + "  not running here (no control socket at " + sock + ")");
                    System.out.println();
                }
            }
        }
        if (json) {
            System.out.println("[" + String.join(",", jsons) + "]");
        }
        return reachable > 0 ? 0 : 1;
    }
}
