package dev.tandem.node.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Network namespaces for integration tests: unique names, every command bounded in time, and
 * {@link #close()} removes every namespace it made (killing what runs inside).
 */
final class Netns implements AutoCloseable {
    final String prefix;
    private final List<String> created = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    Netns(String tag) {
        this.prefix = "tit" + Integer.toHexString(new Random().nextInt(0x10000)) + tag + "-";
    }

    String add(String name) {
        String ns = prefix + name;
        sh("ip", "netns", "add", ns);
        created.add(ns);
        sh("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /** Runs a command, fails the test on a non-zero exit, returns stdout. */
    static String sh(String... cmd) {
        Result r = run(cmd);
        if (r.code != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (" + r.code + "): " + r.out);
        }
        return r.out;
    }

    record Result(int code, String out) {}

    static Result run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish in 20 s");
            }
            return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String exec(String ns, String... cmd) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        return sh(all.toArray(String[]::new));
    }

    /** Starts a long-running process inside ns, output to logFile; killed on close(). */
    Process spawn(String ns, Path logFile, List<String> cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(cmd);
        Process p = new ProcessBuilder(all).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
        processes.add(p);
        return p;
    }

    static boolean hasAddress(String ns, String iface, String address) {
        Result r = run("ip", "-n", ns, "-o", "addr", "show", "dev", iface);
        return r.code == 0 && r.out.contains(" " + address + "/");
    }

    static void await(String what, Duration timeout, BooleanSupplier cond) {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (cond.getAsBoolean()) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
    }

    static String log(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "(no log)";
        } catch (IOException e) {
            return "(unreadable log: " + e + ")";
        }
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (String ns : created) {
            Result pids = run("ip", "netns", "pids", ns);
            for (String pid : pids.out.split("\\s+")) {
                if (!pid.isBlank()) {
                    run("kill", "-9", pid.trim());
                }
            }
            run("ip", "netns", "del", ns);
        }
    }
}
