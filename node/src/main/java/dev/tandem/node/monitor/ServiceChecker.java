package dev.tandem.node.monitor;

import dev.tandem.core.ha.Input;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs one service check or self-check every interval on its own thread and hands each result to
 * the node's loop; fall/rise counting is the core's job. A command is run without a shell, with a
 * timeout after which it is killed (with its children); exit 0 means healthy.
 */
public final class ServiceChecker implements AutoCloseable {
    private static final int MAX_OUTPUT = 512;

    /** A check that answers null when healthy, else the reason. */
    public interface Probe {
        String failure() throws Exception;
    }

    private final String name;
    private final int intervalMs;
    private final Probe probe;
    private final Consumer<Input> sink;
    private volatile boolean running = true;
    private Thread thread;

    public ServiceChecker(String name, int intervalMs, Probe probe, Consumer<Input> sink) {
        this.name = name;
        this.intervalMs = intervalMs;
        this.probe = probe;
        this.sink = sink;
    }

    /** argv run with a timeout: null on exit 0, else "exit 3: <first output line>" / "timed out after 500 ms". */
    public static Probe command(List<String> argv, int timeoutMs) {
        return () -> {
            Process p;
            try {
                p = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                        new java.io.File("/dev/null"))).start();
            } catch (IOException e) {
                return "cannot run " + argv.get(0) + ": " + e.getMessage();
            }
            try (InputStream in = p.getInputStream()) {
                if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    return "timed out after " + timeoutMs + " ms (killed)";
                }
                if (p.exitValue() == 0) {
                    return null;
                }
                String out = new String(in.readNBytes(MAX_OUTPUT), StandardCharsets.UTF_8).strip();
                int nl = out.indexOf('\n');
                out = nl >= 0 ? out.substring(0, nl) : out;
                return "exit " + p.exitValue() + (out.isEmpty() ? "" : ": " + out);
            }
        };
    }

    /** systemctl is-active UNIT. */
    public static Probe unit(String unit, int timeoutMs) {
        Probe c = command(List.of("/usr/bin/systemctl", "is-active", "--quiet", unit), timeoutMs);
        return () -> {
            String f = c.failure();
            return f == null ? null : "unit " + unit + " not active (" + f + ")";
        };
    }

    /** A self-check computed in the daemon itself. */
    public static Probe of(Supplier<String> s) {
        return s::get;
    }

    public void start() {
        thread = Thread.ofPlatform().daemon(true).name("check-" + name).start(this::run);
    }

    private void run() {
        long next = System.nanoTime();
        while (running) {
            String failure;
            try {
                failure = probe.failure();
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                failure = "check failed to run: " + e;
            }
            sink.accept(new Input.CheckResult(name, failure == null, failure == null ? "" : failure));
            next += intervalMs * 1_000_000L;
            long wait = next - System.nanoTime();
            if (wait <= 0) {
                next = System.nanoTime();
                continue;
            }
            try {
                Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        running = false;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
