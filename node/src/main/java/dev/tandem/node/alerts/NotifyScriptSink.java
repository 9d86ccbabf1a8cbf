package dev.tandem.node.alerts;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Runs a keepalived-style notify script: {@code executable TYPE NAME STATE PRIORITY}, e.g.
 * {@code /etc/tandem/notify.sh INSTANCE VG1 MASTER 100}, exactly as keepalived's {@code notify} does, so existing
 * scripts work unchanged. It is run directly (no shell), with standard input from {@code /dev/null} and its output
 * discarded; the environment also carries {@code TANDEM_NODE}, {@code TANDEM_TEXT} and {@code TANDEM_TIME_MS}.
 *
 * <p>Exit status 0 is success, anything else a failure. A script still running after the timeout is killed
 * (with everything it started) and counted as a failure. Since a script's effects may not be safe to repeat,
 * add this sink with {@link RetryPolicy#ONCE} unless the script is idempotent.
 */
public final class NotifyScriptSink implements AlertSink {

    private static final File DEV_NULL = new File("/dev/null");

    private final Path executable;
    private final Duration timeout;

    /**
     * @param executable the script or program (must exist and be executable when an alert is delivered)
     * @param timeout    how long it may run
     */
    public NotifyScriptSink(Path executable, Duration timeout) {
        this.executable = Objects.requireNonNull(executable, "executable").toAbsolutePath();
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
    }

    @Override
    public String name() {
        return "notify script " + executable;
    }

    /** The command line run for {@code a}. */
    public List<String> command(Alert a) {
        return List.of(executable.toString(), a.kind().name(), a.name(), a.state(), Integer.toString(a.priority()));
    }

    @Override
    public void deliver(Alert alert) throws IOException, InterruptedException {
        if (!Files.isRegularFile(executable)) throw new IOException(executable + " does not exist or is not a file");
        if (!Files.isExecutable(executable)) throw new IOException(executable + " is not executable");
        ProcessBuilder pb = new ProcessBuilder(command(alert))
                .redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("TANDEM_NODE", alert.node());
        pb.environment().put("TANDEM_TEXT", alert.text());
        pb.environment().put("TANDEM_TIME_MS", Long.toString(alert.time().toEpochMilli()));
        Process p = pb.start();
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill(p);
            throw e;
        }
        if (!done) {
            kill(p);
            throw new IOException(executable + " still running after " + timeout.toMillis() + " ms: killed");
        }
        int status = p.exitValue();
        if (status != 0) throw new IOException(executable + " exited with status " + status);
    }

    private static void kill(Process p) {
        // children first, so none is re-parented and left running
        List<ProcessHandle> children = p.descendants().toList();
        children.forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        try {
            p.waitFor(2, TimeUnit.SECONDS);
            for (ProcessHandle c : children) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                try {
                    c.onExit().get(left, TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ignored) {
                    // killed; if it lingers, nothing more can be done here
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
