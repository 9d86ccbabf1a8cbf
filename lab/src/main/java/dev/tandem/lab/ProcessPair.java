package dev.tandem.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What every HA pair on the lab shares: one daemon process per firewall, stopped or killed on demand. */
abstract class ProcessPair implements HaPair {
    protected final LabTopology lab;
    private final Map<String, Process> procs = new HashMap<>();

    ProcessPair(LabTopology lab) {
        this.lab = lab;
    }

    /** Starts the daemon of fw; its output goes to logFile(fw). */
    protected abstract Process launch(String fw);

    protected abstract Path logFile(String fw);

    @Override
    public void start() {
        start("fw1");
        start("fw2");
    }

    @Override
    public void start(String fw) {
        if (!running(fw)) {
            procs.put(fw, launch(fw));
        }
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
                kill(fw);
                throw new LabException(fw + " (" + name() + ") did not stop within 10 s of SIGTERM");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void kill(String fw) {
        Process p = procs.get(fw);
        if (p != null) {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // keepalived's VRRP child holds the role
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The daemon's process id (ip netns exec execs it: the same process), or -1. */
    public long pid(String fw) {
        Process p = procs.get(fw);
        return p != null && p.isAlive() ? p.pid() : -1;
    }

    @Override
    public boolean running(String fw) {
        Process p = procs.get(fw);
        return p != null && p.isAlive();
    }

    @Override
    public String log(String fw) {
        try {
            Path f = logFile(fw);
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        for (String fw : List.of("fw1", "fw2")) {
            if (running(fw)) {
                try {
                    stopGracefully(fw);
                } catch (LabException e) {
                    // killed already by stopGracefully
                }
            }
        }
    }
}
