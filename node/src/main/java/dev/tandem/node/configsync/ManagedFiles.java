package dev.tandem.node.configsync;

import dev.tandem.core.config.ConfigBundle;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Declared files: writes those whose content on disk differs from the bundle's, each atomically
 * (temp file + rename, owner and mode kept), then runs their reload commands ({@code /bin/sh -c},
 * each once, in path order, with a timeout). If a write or a reload fails, every file written is
 * restored to its previous bytes (or removed if it did not exist), the reload commands of the
 * restored files run again so the services return to the previous configuration, and
 * {@link Failed} names the file and the command.
 *
 * <p>A file dropped from the bundle is no longer managed and is left in place on disk.
 */
public final class ManagedFiles {
    private static final int OUTPUT_LIMIT = 2000;

    /** A write or reload failed; the previous files are back. {@code item} is "file:/path". */
    public static final class Failed extends Exception {
        private final String item;

        public Failed(String item, String message) {
            super(item + ": " + message);
            this.item = item;
        }

        public String item() {
            return item;
        }
    }

    /** The files written and the commands run; {@link #undo} puts the previous files back (e.g. if nftables then fails). */
    public final class Applied {
        private final Map<Path, byte[]> previous;
        private final Map<Path, String> reloads;

        private Applied(Map<Path, byte[]> previous, Map<Path, String> reloads) {
            this.previous = previous;
            this.reloads = reloads;
        }

        public List<Path> written() {
            return List.copyOf(previous.keySet());
        }

        public List<String> reloadCommands() {
            return reloads.values().stream().distinct().toList();
        }

        /** Restores the previous contents and reruns their reload commands; returns problems met (empty if none). */
        public List<String> undo() {
            return restore(previous, reloads);
        }
    }

    private final Duration reloadTimeout;

    public ManagedFiles(Duration reloadTimeout) {
        this.reloadTimeout = reloadTimeout;
    }

    /** Makes the declared files of {@code next} true on disk (see the class comment). */
    public Applied apply(ConfigBundle next) throws Failed {
        Map<Path, byte[]> previous = new LinkedHashMap<>();
        Map<Path, String> reloads = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigBundle.Item> e : next.files().entrySet()) {
            Path p = Path.of(e.getKey());
            byte[] want = e.getValue().content().getBytes(StandardCharsets.UTF_8);
            byte[] have;
            try {
                have = Files.exists(p) ? Files.readAllBytes(p) : null;
            } catch (IOException ex) {
                restore(previous, Map.of());
                throw new Failed(ConfigBundle.fileItem(e.getKey()), "cannot read the current file: " + ex);
            }
            if (have != null && Arrays.equals(have, want)) {
                continue;
            }
            try {
                AtomicFiles.write(p, want, null);
            } catch (IOException ex) {
                restore(previous, Map.of());
                throw new Failed(ConfigBundle.fileItem(e.getKey()), "write failed: " + ex.getMessage());
            }
            previous.put(p, have);
            if (e.getValue().hasReload()) {
                reloads.put(p, e.getValue().reload());
            }
        }
        List<String> done = new ArrayList<>();
        for (Map.Entry<Path, String> r : reloads.entrySet()) {
            if (done.contains(r.getValue())) {
                continue;
            }
            String err = run(r.getValue());
            if (err != null) {
                List<String> restoreProblems = restore(previous, reloads);
                throw new Failed(ConfigBundle.fileItem(r.getKey().toString()), "reload command '" + r.getValue() + "' " + err
                        + "; previous files restored" + (restoreProblems.isEmpty() ? "" : " (" + String.join("; ",
                        restoreProblems) + ")"));
            }
            done.add(r.getValue());
        }
        return new Applied(previous, reloads);
    }

    private List<String> restore(Map<Path, byte[]> previous, Map<Path, String> reloads) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Path, byte[]> e : previous.entrySet()) {
            try {
                if (e.getValue() == null) {
                    AtomicFiles.delete(e.getKey());
                } else {
                    AtomicFiles.write(e.getKey(), e.getValue(), null);
                }
            } catch (IOException ex) {
                problems.add("could not restore " + e.getKey() + ": " + ex.getMessage());
            }
        }
        for (String cmd : reloads.values().stream().distinct().toList()) {
            String err = run(cmd);
            if (err != null) {
                problems.add("reload '" + cmd + "' after restore " + err);
            }
        }
        return problems;
    }

    /** Runs a reload command; null if it exited 0, else what went wrong (exit code or timeout, and its output). */
    String run(String command) {
        Process p;
        try {
            p = new ProcessBuilder("/bin/sh", "-c", command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        } catch (IOException e) {
            return "could not start: " + e.getMessage();
        }
        StringBuilder out = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                byte[] buf = new byte[4096];
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (out) {
                        if (out.length() < OUTPUT_LIMIT) {
                            out.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                        }
                    }
                }
            } catch (IOException e) {
                // the process went away
            }
        });
        try {
            if (!p.waitFor(reloadTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(2, TimeUnit.SECONDS);
                return "timed out after " + reloadTimeout.toMillis() + " ms" + tail(out);
            }
            reader.join(1000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return p.exitValue() == 0 ? null : "exited " + p.exitValue() + tail(out);
    }

    private static String tail(StringBuilder out) {
        String s;
        synchronized (out) {
            s = out.toString().strip();
        }
        if (s.length() > OUTPUT_LIMIT) {
            s = s.substring(0, OUTPUT_LIMIT) + "…";
        }
        return s.isEmpty() ? "" : ": " + s;
    }
}
