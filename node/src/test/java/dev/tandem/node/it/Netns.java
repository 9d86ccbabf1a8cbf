package dev.tandem.node.it;

import dev.tandem.lab.Cmd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * Ad-hoc namespaces for integration tests that need a topology other than the lab's: unique names,
 * and {@link #close()} removes every namespace it made, killing what runs inside.
 */
final class Netns implements AutoCloseable {
    final String prefix;
    private final List<String> created = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    Netns(String tag) {
        this.prefix = "tit" + Integer.toHexString(0x1000 + new Random().nextInt(0xefff)) + tag + "-";
    }

    String add(String name) {
        String ns = prefix + name;
        Cmd.sh("ip", "netns", "add", ns);
        created.add(ns);
        Cmd.sh("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /** Starts a long-running process inside ns, output appended to logFile; killed on close(). */
    Process spawn(String ns, Path logFile, List<String> cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(cmd);
        Process p = new ProcessBuilder(all).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
        processes.add(p);
        return p;
    }

    static void await(String what, Duration timeout, BooleanSupplier cond) {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (cond.getAsBoolean()) {
                return;
            }
            Cmd.sleep(20);
        }
        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
    }

    static void await(String what, Duration timeout, BooleanSupplier cond, java.util.function.Supplier<String> context) {
        try {
            await(what, timeout, cond);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + context.get());
        }
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
        created.forEach(Cmd::deleteNamespace);
    }
}
