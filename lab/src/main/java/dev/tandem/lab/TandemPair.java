package dev.tandem.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** `tandem run` on fw1 and fw2 of the lab, each a real process inside its namespace. */
public final class TandemPair implements HaPair {
    private static final String MAIN = "dev.tandem.node.cli.TandemCli";
    /**
     * The daemon's JVM: ZGC keeps pauses under ~2 ms (a 64 MiB SerialGC heap paused 11-19 ms, long
     * enough to silence heartbeats and adverts and fake a dead node); the heap is fixed and touched
     * up front so no page fault lands in a pause.
     */
    public static final List<String> NODE_JVM = List.of("-XX:+UseZGC", "-Xms64m", "-XX:SoftMaxHeapSize=64m", "-Xmx256m", "-ea");
    private final LabTopology lab;
    private final Map<String, Process> procs = new HashMap<>();

    public TandemPair(LabTopology lab) {
        this.lab = lab;
    }

    @Override
    public String name() {
        return "tandem";
    }

    @Override
    public void start() {
        start("fw1");
        start("fw2");
    }

    @Override
    public void start(String fw) {
        if (running(fw)) {
            return;
        }
        Path log = lab.runDir().resolve(fw + ".log");
        procs.put(fw, JavaProcess.start(JavaProcess.command(lab.ns(fw), MAIN, NODE_JVM,
                List.of("run", "-c", lab.configFile().toString(), "--node", fw)), log));
    }

    @Override
    public void stopGracefully(String fw) {
        Process p = procs.get(fw);
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new LabException(fw + " did not stop within 10 s of SIGTERM");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void kill(String fw) {
        Process p = procs.get(fw);
        if (p != null) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean running(String fw) {
        Process p = procs.get(fw);
        return p != null && p.isAlive();
    }

    @Override
    public String log(String fw) {
        try {
            Path f = lab.runDir().resolve(fw + ".log");
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        for (String fw : List.of("fw1", "fw2")) {
            if (running(fw)) {
                stopOrKill(fw);
            }
        }
    }

    private void stopOrKill(String fw) {
        try {
            stopGracefully(fw);
        } catch (LabException e) {
            kill(fw);
        }
    }
}
