package dev.tandem.node.cli;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabException;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.TandemPair;
import dev.tandem.node.daemon.ControlServer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** `tandem bench config`: apply on the primary to enforced on the peer, N rules. */
final class ConfigBench {
    private static final Pattern VERSION = Pattern.compile("\"config_sync\":\\{\"state\":\"(\\w+)\",\"version\":(\\d+)");

    private ConfigBench() {}

    /** The lab's ruleset plus an unhooked chain of n rules (variant makes each run's content new). */
    static String ruleset(int n, int variant) {
        StringBuilder b = new StringBuilder(LabTopology.syncedRuleset());
        b.append("table inet tandem_fw {\n  chain bench {\n");
        for (int i = 0; i < n; i++) {
            b.append("    ip saddr 10.").append(100 + (i >> 16) % 100).append('.').append((i >> 8) & 255).append('.')
                    .append(i & 255).append(" udp dport ").append(1024 + (i + variant) % 60000).append(" counter drop\n");
        }
        return b.append("  }\n}\n").toString();
    }

    static long[] version(LabTopology lab, String fw) {
        try {
            Matcher m = VERSION.matcher(ControlServer.request(lab.runDir().resolve(fw + ".sock"), "status-json"));
            return m.find() ? new long[]{Long.parseLong(m.group(2)), m.group(1).equals("IN_SYNC") ? 1 : 0} : null;
        } catch (IOException e) {
            return null;
        }
    }

    static void run(String prefix, int rules, int runs, PrintStream out) throws Exception {
        LabTopology lab = new LabTopology(prefix);
        boolean created = !lab.exists();
        lab.up(LabConfig.of("default"));
        List<Double> total = new ArrayList<>();
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            pair.start("fw2");
            await("fw2 in sync with fw1", 30, () -> {
                long[] a = version(lab, "fw1");
                long[] b = version(lab, "fw2");
                return a != null && b != null && a[0] > 0 && a[0] == b[0] && b[1] == 1;
            });
            out.printf("config bench: %d rules (%d KiB), %d run(s)%n", rules, ruleset(rules, 0).length() / 1024, runs);
            for (int r = 1; r <= runs; r++) {
                Path f = lab.runDir().resolve("bench-" + r + ".nft");
                Files.writeString(f, ruleset(rules, r));
                long t0 = System.nanoTime();
                String answer = ControlServer.request(lab.runDir().resolve("fw1.sock"), "config-apply " + f + " | bench");
                long t1 = System.nanoTime();
                if (!answer.startsWith("ok: config ")) {
                    throw new LabException("fw1 refused the ruleset: " + answer);
                }
                long target = Long.parseLong(answer.substring("ok: config ".length(), answer.indexOf('/')));
                long[] v;
                while ((v = version(lab, "fw2")) == null || v[0] < target) {
                    if (System.nanoTime() - t0 > 60_000_000_000L) {
                        throw new LabException("fw2 did not reach version " + target + " within 60 s:\n" + pair.log("fw2"));
                    }
                    Thread.sleep(2);
                }
                long t2 = System.nanoTime();
                double ms = (t2 - t0) / 1e6;
                total.add(ms);
                String applied = pair.log("fw2").lines().filter(l -> l.contains("config " + target + "/")
                        && l.contains(" applied (")).reduce((a, b) -> b).orElse("");
                int at = applied.indexOf(" applied (");
                int semi = answer.indexOf("; read ");
                out.printf(Locale.ROOT, "run %d: version %d on fw2 after %.0f ms (fw1 answered after %.0f ms: %s; fw2%s)%n",
                        r, target, ms, (t1 - t0) / 1e6, semi < 0 ? "" : answer.substring(semi + 2).strip(),
                        at < 0 ? ": no apply line in its log" : applied.substring(at));
            }
            String listed = Cmd.in(lab.ns("fw2"), "nft", "list", "chain", "inet", "tandem_fw", "bench");
            long count = listed.lines().filter(l -> l.contains("counter")).count();
            if (count != rules) {
                throw new LabException("fw2 runs " + count + " bench rules, expected " + rules);
            }
        } finally {
            if (created) {
                lab.down();
            }
        }
        total.sort(null);
        out.printf(Locale.ROOT, "apply on fw1 -> running on fw2: min %.0f ms, median %.0f ms, max %.0f ms (%d rules)%n",
                total.getFirst(), total.get(total.size() / 2), total.getLast(), rules);
        out.printf(Locale.ROOT, "{\"bench\":\"config\",\"rules\":%d,\"runs\":%d,\"median_ms\":%.1f,\"max_ms\":%.1f}%n",
                rules, runs, total.get(total.size() / 2), total.getLast());
    }

    private static void await(String what, int seconds, java.util.function.BooleanSupplier c) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new LabException("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }
}
