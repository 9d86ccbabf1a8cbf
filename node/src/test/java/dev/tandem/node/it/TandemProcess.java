package dev.tandem.node.it;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real `tandem run` daemon process inside a namespace, started from the test's own classpath. */
final class TandemProcess {
    final String node;
    final Path log;
    private final Process process;

    private TandemProcess(String node, Path log, Process process) {
        this.node = node;
        this.log = log;
        this.process = process;
    }

    static TandemProcess start(Netns nets, String ns, Path config, String node, Path dir) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path log = dir.resolve(node + ".log");
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(dev.tandem.lab.TandemPair.NODE_JVM);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tandem.node.cli.TandemCli", "run", "-c",
                config.toString(), "--node", node));
        Process p = nets.spawn(ns, log, cmd);
        return new TandemProcess(node, log, p);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** SIGTERM and wait for the graceful exit. */
    int terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(node + " did not stop within 10 s of SIGTERM:\n" + Netns.log(log));
        }
        return process.exitValue();
    }

    void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
    }

    String output() {
        return Netns.log(log);
    }
}
