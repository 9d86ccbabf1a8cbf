package dev.tandem.node.cli;

import dev.tandem.lab.Demo;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "lab", description = "The network-namespace lab: client, server, fw1, fw2, LAN/WAN switches.",
        subcommands = {LabCommand.Up.class, LabCommand.Down.class, LabCommand.Status.class, LabCommand.DemoCmd.class})
final class LabCommand implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static class Common {
        @Option(names = "--prefix", defaultValue = LabTopology.DEFAULT_PREFIX, description = "namespace name prefix")
        String prefix;
    }

    @Command(name = "up", description = "Build the lab (idempotent) and write its cluster file.")
    static final class Up extends Common implements Callable<Integer> {
        @Option(names = "--profile", defaultValue = "default", description = "default | aggressive")
        String profile;

        @Option(names = "--preempt", description = "enable preemption in the lab's cluster file")
        boolean preempt;

        @Option(names = "--no-nodes", description = "build the network only; do not start the two daemons")
        boolean noNodes;

        @Override
        public Integer call() throws Exception {
            LabTopology lab = new LabTopology(prefix);
            lab.up(LabConfig.of(profile).withPreempt(preempt, 1000));
            // tokens for the dashboards, shown once here (stored hashed)
            java.nio.file.Path tokenFile = lab.runDir().resolve("state/tokens");
            java.nio.file.Files.createDirectories(tokenFile.getParent());
            dev.tandem.node.api.TokenStore tokens = dev.tandem.node.api.TokenStore.open(tokenFile);
            tokens.revoke("lab-admin");
            tokens.revoke("lab-viewer");
            String admin = tokens.create("lab-admin", dev.tandem.node.api.Role.ADMIN);
            String viewer = tokens.create("lab-viewer", dev.tandem.node.api.Role.VIEWER);
            if (!noNodes) {
                for (String fw : new String[]{"fw1", "fw2"}) {
                    lab.startDetached(fw);
                    if (fw.equals("fw1")) {
                        for (int i = 0; i < 300 && !lab.active().equals("fw1"); i++) {
                            Thread.sleep(50);
                        }
                    }
                }
                Thread.sleep(1500);
            }
            System.out.print(lab.status());
            if (noNodes) {
                System.out.println("run the nodes:");
                for (String fw : new String[]{"fw1", "fw2"}) {
                    System.out.println("  ip netns exec " + lab.ns(fw) + " ./tandem run -c " + lab.configFile(fw) + " --node " + fw);
                }
            } else {
                System.out.println("nodes running (logs: " + lab.runDir() + "/fw1.log, fw2.log; stopped by ./tandem lab down)");
            }
            System.out.println("dashboards: fw1 http://127.0.0.1:" + lab.apiPort("fw1") + "/   fw2 http://127.0.0.1:"
                    + lab.apiPort("fw2") + "/");
            System.out.println("tokens: admin " + admin + "   viewer " + viewer);
            System.out.println("status: ./tandem status -c " + lab.configFile());
            return 0;
        }
    }

    @Command(name = "down", description = "Remove everything the lab made, even after a crash.")
    static final class Down extends Common implements Callable<Integer> {
        @Override
        public Integer call() {
            new LabTopology(prefix).down();
            System.out.println("lab " + prefix + "* removed");
            return 0;
        }
    }

    @Command(name = "status", description = "What exists, who holds the VIPs.")
    static final class Status extends Common implements Callable<Integer> {
        @Override
        public Integer call() {
            LabTopology lab = new LabTopology(prefix);
            System.out.print(lab.status());
            return lab.exists() ? 0 : 1;
        }
    }

    @Command(name = "demo", description = "Run a pair, crash the active, print the client-observed outage.")
    static final class DemoCmd extends Common implements Callable<Integer> {
        @Option(names = "--profile", defaultValue = "aggressive", description = "default | aggressive")
        String profile;

        @Option(names = "--keep", description = "keep the lab afterwards")
        boolean keep;

        @Override
        public Integer call() {
            Demo.run(prefix, profile, keep, System.out);
            return 0;
        }
    }
}
