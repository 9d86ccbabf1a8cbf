package dev.tandem.node.cli;

import dev.tandem.node.channel.Pki;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "pki", description = "The cluster PKI for the peer channel (mutual TLS 1.3).",
        subcommands = {PkiCommand.Init.class, PkiCommand.Issue.class})
final class PkiCommand implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "init", description = "Create the cluster CA (ca.crt, ca.key) in DIR.")
    static final class Init implements Callable<Integer> {
        @Option(names = "--dir", defaultValue = "/etc/tandem/pki")
        Path dir;

        @Option(names = "--cluster", defaultValue = "tandem")
        String cluster;

        @Override
        public Integer call() throws Exception {
            Pki.init(dir, cluster);
            System.out.println("cluster CA created: " + dir.resolve("ca.crt") + " (keep " + dir.resolve("ca.key")
                    + " safe; it signs node certificates)");
            return 0;
        }
    }

    @Command(name = "issue", description = "Create NODE.key and NODE.crt (CN=NODE) signed by the cluster CA in DIR.")
    static final class Issue implements Callable<Integer> {
        @Parameters(paramLabel = "NODE")
        String node;

        @Option(names = "--dir", defaultValue = "/etc/tandem/pki")
        Path dir;

        @Option(names = "--name", description = "an IP address or DNS name the node is reached by (its management "
                + "address): added to the certificate's subject alternative names; repeatable")
        java.util.List<String> names = new java.util.ArrayList<>();

        @Override
        public Integer call() throws Exception {
            Pki.issue(dir, node, names);
            System.out.println("issued " + dir.resolve(node + ".crt") + " and " + dir.resolve(node + ".key")
                    + "; copy ca.crt, " + node + ".crt and " + node + ".key to " + node);
            return 0;
        }
    }
}
