package dev.tandem.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs system commands (ip, nft, sysctl) with a time bound; every failure names the command. */
public final class Cmd {
    private static final long TIMEOUT_S = 20;

    public record Result(int code, String out) {}

    private Cmd() {}

    public static Result run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes(); // ends when the process closes its output
            if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new LabException(String.join(" ", cmd) + " did not finish within " + TIMEOUT_S + " s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new LabException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while running " + String.join(" ", cmd));
        }
    }

    /** Runs a command; a non-zero exit is an error carrying the command's output. */
    public static String sh(String... cmd) {
        Result r = run(cmd);
        if (r.code() != 0) {
            throw new LabException(String.join(" ", cmd) + " failed (exit " + r.code() + "): " + r.out().trim());
        }
        return r.out();
    }

    /** The same inside a network namespace. */
    public static String in(String ns, String... cmd) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        return sh(all.toArray(String[]::new));
    }

    public static List<String> namespaces() {
        List<String> out = new ArrayList<>();
        for (String line : run("ip", "netns", "list").out().split("\n")) {
            if (!line.isBlank()) {
                out.add(line.trim().split("\\s+")[0]);
            }
        }
        return out;
    }

    /** Kills every process in ns (SIGKILL) and deletes it; absent is fine. */
    public static void deleteNamespace(String ns) {
        for (int round = 0; round < 3; round++) {
            String pids = run("ip", "netns", "pids", ns).out().trim();
            if (pids.isEmpty()) {
                break;
            }
            for (String pid : pids.split("\\s+")) {
                run("kill", "-9", pid);
            }
            sleep(50);
        }
        run("ip", "netns", "del", ns);
    }

    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted");
        }
    }

    /** Whether ns has the address on iface (kernel truth). */
    public static boolean hasAddress(String ns, String iface, String address) {
        Result r = run("ip", "-n", ns, "-o", "addr", "show", "dev", iface);
        return r.code() == 0 && r.out().contains(" " + address + "/");
    }
}
