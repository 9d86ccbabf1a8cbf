package dev.tandem.lab;

import dev.tandem.linux.ConntrackSocket;
import dev.tandem.linux.Netns;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * `tandem bench sync`: session sync under load. fw1 active, fw2 passive and synced; a producer in
 * fw1's namespace creates synthetic SNAT sessions through ctnetlink in batches (target rate, or as
 * fast as it can), and once `live` of them exist deletes the oldest as fast as it creates — real
 * conntrack NEW and DESTROY events that fw1's daemon replicates. Measured on fw2: changes applied
 * over time (replicated events/s) and the cached count; on fw1: the send-to-ack lag percentiles; on
 * both: CPU seconds of the daemon process (utime + stime from /proc) → µs per event. With --vs
 * conntrackd the same producer runs against conntrackd (FTFW over UDP on the data link) on the same lab.
 * Both are measured after a warm-up of the same traffic (Options.warmup, default 20 s; 0 for a cold start).
 */
public final class SyncBench {
    /**
     * @param rate   entries created per second (0: as fast as possible)
     * @param live   entries kept before deleting the oldest
     * @param warmup seconds the producer runs before the measured ones (those sessions then flushed and the
     *               replica settled): the daemons' JIT and the JDK's AES-GCM intrinsics compile during the first
     *               seconds of traffic, and a firewall's daemon runs for months
     * @param mode   Tandem's cluster.sessions.mode: cache, or direct (fw2 also writes every change into its kernel)
     */
    public record Options(String prefix, int rate, int seconds, int live, boolean vsConntrackd, int warmup, String mode) {}

    /** What one implementation did. */
    public record Result(String impl, long created, long deleted, double produceSeconds, double producedPerSecond,
                         long replicated, double replicateSeconds, double replicatedPerSecond, long finalCached,
                         long kernelCount, double catchUpMs, double cpuActiveS, double cpuPassiveS, double usPerEventActive,
                         double usPerEventPassive, double idleCpuActive, double idleCpuPassive, long lagP50Us, long lagP99Us,
                         long lagMaxUs, int lagSamples) {}

    private static final long TICKS = 100; // USER_HZ

    private SyncBench() {}

    public static List<Result> run(Options o, PrintStream out) {
        LabTopology lab = new LabTopology(o.prefix());
        LabConfig cfg = LabConfig.of("default").withMonitors(false).withSessionMode(o.mode());
        boolean created = !lab.exists();
        lab.up(cfg);
        List<Result> results = new ArrayList<>();
        try {
            out.printf(Locale.ROOT, "sync bench: producer in fw1 creating %s synthetic SNAT TCP sessions for %d s after a "
                            + "%d s warm-up, keeping %,d live (then deleting the oldest as fast as it creates); Tandem's session mode %s%s; monitors off%n",
                    o.rate() == 0 ? "as many" : String.format(Locale.ROOT, "%,d/s", o.rate()), o.seconds(), o.warmup(), o.live(),
                    o.mode(),
                    o.vsConntrackd() ? "; against conntrackd (FTFW over UDP on the data link)" : "");
            if (o.vsConntrackd() && !ConntrackdPair.installed()) {
                throw new LabException("--vs conntrackd: conntrackd is not installed (apt-get install conntrackd)");
            }
            results.add(tandem(lab, o, out));
            if (o.vsConntrackd()) {
                results.add(conntrackd(lab, o, out));
            }
            out.println();
            for (Result r : results) {
                print(r, out);
            }
            out.println(json(o, results));
            return results;
        } finally {
            FailoverScenario.reset(lab);
            keepLogs(lab, out);
            if (created) {
                lab.down();
            }
        }
    }

    private static Result tandem(LabTopology lab, Options o, PrintStream out) {
        FailoverScenario.reset(lab);
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            FailoverScenario.await("fw1 active", 20_000, () -> lab.active().equals("fw1"), pair);
            pair.start("fw2");
            FailoverScenario.await("fw2 passive and SYNCED", 30_000, () -> {
                String s = ControlClient.statusJson(lab, "fw2");
                return s.contains("\"state\":\"PASSIVE\"") && s.contains("\"session_sync\":\"SYNCED\"");
            }, pair);
            FailoverScenario.await("fw1 streaming to fw2", 10_000,
                    () -> ControlClient.statusJson(lab, "fw1").contains("sessions to fw2: streaming"), pair);
            out.println("tandem: fw1 active, fw2 passive and SYNCED");
            LongSupplier applied = () -> ControlClient.number(ControlClient.statusJson(lab, "fw2"), "changes applied (\\d+)");
            LongSupplier cached = () -> ControlClient.number(ControlClient.statusJson(lab, "fw2"), "sessions cached: (\\d+)");
            String[] before = new String[1];
            long[] fw2Kernel = {-1};
            // direct mode: fw2's kernel writer may still be writing the warm-up's destroys (not idle yet)
            LongSupplier backlog = () -> Math.max(0, ControlClient.number(ControlClient.statusJson(lab, "fw2"),
                    "kernel writes pending (\\d+)"));
            Result r = measure("tandem", lab, o, pair.pid("fw1"), pair.pid("fw2"), applied, cached, backlog, () -> {
                before[0] = ControlClient.statusJson(lab, "fw1");
                if (o.mode().equals("direct")) {
                    fw2Kernel[0] = kernelCount(lab, "fw2");
                }
            }, out);
            String st = before[0]; // the lag of the measured traffic, not of the flush's burst of destroys
            long p50 = ControlClient.number(st, "p50 (\\d+) µs");
            long p99 = ControlClient.number(st, "p99 (\\d+) µs");
            long max = ControlClient.number(st, "max (\\d+) µs over");
            int n = (int) ControlClient.number(st, "over the last (\\d+) batches");
            out.println("  fw1: " + syncLines(st));
            out.println("  fw2: " + syncLines(ControlClient.statusJson(lab, "fw2")));
            if (fw2Kernel[0] >= 0) {
                out.printf(Locale.ROOT, "  direct mode: fw2's kernel held %,d sessions at the end, fw1's %,d%s%n", fw2Kernel[0],
                        r.kernelCount(), Math.abs(fw2Kernel[0] - r.kernelCount()) > 100 ? ": WARNING, they differ" : "");
            }
            return new Result(r.impl(), r.created(), r.deleted(), r.produceSeconds(), r.producedPerSecond(), r.replicated(),
                    r.replicateSeconds(), r.replicatedPerSecond(), r.finalCached(), r.kernelCount(), r.catchUpMs(),
                    r.cpuActiveS(), r.cpuPassiveS(), r.usPerEventActive(), r.usPerEventPassive(), r.idleCpuActive(),
                    r.idleCpuPassive(), p50, p99, max, n);
        }
    }

    private static Result conntrackd(LabTopology lab, Options o, PrintStream out) {
        FailoverScenario.reset(lab);
        try (ConntrackdPair pair = new ConntrackdPair(lab)) {
            pair.start("fw1");
            pair.start("fw2");
            FailoverScenario.await("conntrackd answering on fw1 and fw2", 10_000,
                    () -> pair.control("fw1", "-s").code() == 0 && pair.control("fw2", "-s").code() == 0, pair);
            Cmd.sleep(1000);
            out.println("conntrackd: running on fw1 and fw2");
            // replicated changes as fw2's external cache counts them: entries created + deleted ("objects" history)
            LongSupplier applied = () -> externalCacheChanges(pair.control("fw2", "-s").out());
            LongSupplier cached = () -> externalCacheCount(pair.control("fw2", "-s").out());
            Result r = measure("conntrackd", lab, o, pair.pid("fw1"), pair.pid("fw2"), applied, cached, () -> 0, () -> { }, out);
            out.println("  fw1 conntrackd -s:\n" + indent(pair.control("fw1", "-s").out()));
            out.println("  fw2 conntrackd -s:\n" + indent(pair.control("fw2", "-s").out()));
            return r;
        }
    }

    private static String indent(String s) {
        return "    " + s.strip().replace("\n", "\n    ");
    }

    /** "current active connections: N" of the external cache section of `conntrackd -s`. */
    static long externalCacheCount(String stats) {
        int i = stats.indexOf("cache external");
        if (i < 0) {
            return -1;
        }
        return ControlClient.number(stats.substring(i), "current active connections:\\s+(\\d+)");
    }

    /** Connections created + destroyed in fw2's external cache (`conntrackd -s`): changes applied. */
    static long externalCacheChanges(String stats) {
        int i = stats.indexOf("cache external");
        if (i < 0) {
            return -1;
        }
        String s = stats.substring(i);
        long created = ControlClient.number(s, "connections created:\\s+(\\d+)");
        long deleted = ControlClient.number(s, "connections destroyed:\\s+(\\d+)");
        return created < 0 || deleted < 0 ? -1 : created + deleted;
    }

    private record Sample(long nanos, long applied, long cached) {}

    /**
     * beforeFlush runs once the replica has caught up, before the sessions are flushed (the lag is read there);
     * backlog: what the replica still has to write after the warm-up's flush (direct mode), waited for too.
     */
    private static Result measure(String impl, LabTopology lab, Options o, long pid1, long pid2, LongSupplier applied,
                                  LongSupplier cached, LongSupplier backlog, Runnable beforeFlush, PrintStream out) {
        ConntrackSocket ct = Netns.callIn(lab.ns("fw1"), ConntrackSocket::open);
        try (ct) {
            if (o.warmup() > 0) {
                warmUp(impl, ct, o, () -> cached.getAsLong() + backlog.getAsLong(), out);
            }
            // idle CPU of both daemons over 2 s: what they spend without any session traffic
            double i1 = cpuSeconds(pid1);
            double i2 = cpuSeconds(pid2);
            Cmd.sleep(2000);
            double idle1 = (cpuSeconds(pid1) - i1) / 2;
            double idle2 = (cpuSeconds(pid2) - i2) / 2;
            long applied0 = applied.getAsLong();
            double c1 = cpuSeconds(pid1);
            double c2 = cpuSeconds(pid2);
            List<Sample> samples = new ArrayList<>();
            Producer p = new Producer(ct, o);
            Thread producer = Thread.ofPlatform().name("producer").start(p);
            long t0 = System.nanoTime();
            while (producer.isAlive()) {
                samples.add(new Sample(System.nanoTime(), applied.getAsLong(), cached.getAsLong()));
                Cmd.sleep(100);
            }
            long tEnd = System.nanoTime();
            if (p.failure != null) {
                throw new LabException("producer: " + p.failure);
            }
            long events = p.created + p.deleted;
            // wait until the replica stops moving (or counts every event)
            long last = applied.getAsLong();
            long lastChange = System.nanoTime();
            while (System.nanoTime() - lastChange < 2_000_000_000L && System.nanoTime() - tEnd < 60_000_000_000L) {
                Cmd.sleep(50);
                long a = applied.getAsLong();
                samples.add(new Sample(System.nanoTime(), a, -1));
                if (a != last) {
                    last = a;
                    lastChange = System.nanoTime();
                }
                if (a - applied0 >= events && System.nanoTime() - lastChange > 300_000_000L) {
                    break;
                }
            }
            double cpu1 = cpuSeconds(pid1) - c1;
            double cpu2 = cpuSeconds(pid2) - c2;
            long replicated = last - applied0;
            // the time at which the replica reached its final count
            long reached = tEnd;
            for (Sample s : samples) {
                if (s.applied() >= last) {
                    reached = s.nanos();
                    break;
                }
            }
            double produceS = (tEnd - t0) / 1e9;
            double replicateS = Math.max(produceS, (reached - t0) / 1e9);
            long finalCached = cached.getAsLong();
            long[] kernel = new long[1];
            ct.dump(e -> kernel[0]++);
            Result r = new Result(impl, p.created, p.deleted, produceS, events / produceS, replicated, replicateS,
                    replicated / replicateS, finalCached, kernel[0], Math.max(0, (reached - tEnd) / 1e6), cpu1, cpu2,
                    cpu1 * 1e6 / events, cpu2 * 1e6 / events, idle1, idle2, -1, -1, -1, 0);
            out.printf(Locale.ROOT, "  %s: produced %,d events (%,d NEW + %,d DESTROY) in %.1f s = %,.0f/s; replica counted "
                            + "%,d changes, caught up %.0f ms after the producer stopped; cached %,d, fw1 kernel %,d%n", impl,
                    events, p.created, p.deleted, produceS, events / produceS, replicated, r.catchUpMs(), finalCached, kernel[0]);
            if (Math.abs(finalCached - kernel[0]) > 100) {
                out.printf(Locale.ROOT, "  WARNING: %s: the replica holds %,d sessions, fw1's kernel %,d: they diverged%n", impl,
                        finalCached, kernel[0]);
            }
            beforeFlush.run();
            ct.flush(); // destroy events: replicated too, outside the measurement
            Cmd.sleep(1500);
            return r;
        }
    }

    /** The producer for o.warmup() seconds, then its sessions flushed and the replica back near empty (bounded). */
    /** settled: the replica's sessions (and, direct mode, its kernel writes pending), waited for to fall near 0. */
    private static void warmUp(String impl, ConntrackSocket ct, Options o, LongSupplier settled, PrintStream out) {
        Producer w = new Producer(ct, new Options(o.prefix(), o.rate(), o.warmup(), o.live(), o.vsConntrackd(), 0, o.mode()));
        w.run();
        if (w.failure != null) {
            throw new LabException("producer (warm-up): " + w.failure);
        }
        ct.flush();
        long end = System.nanoTime() + 30_000_000_000L;
        long c = settled.getAsLong();
        while (c > 1000 && System.nanoTime() < end) {
            Cmd.sleep(200);
            c = settled.getAsLong();
        }
        out.printf(Locale.ROOT, "  %s: warm-up of %d s (%,d events, not measured); then flushed, replica (and writes pending) at %,d%n", impl,
                o.warmup(), w.created + w.deleted, c);
    }

    /** Creates (and past `live`, deletes) synthetic entries in batches, paced to the rate. */
    private static final class Producer implements Runnable {
        private final ConntrackSocket ct;
        private final Options o;
        volatile long created;
        volatile long deleted;
        volatile String failure;

        Producer(ConntrackSocket ct, Options o) {
            this.ct = ct;
            this.o = o;
        }

        @Override
        public void run() {
            try {
                long t0 = System.nanoTime();
                long end = t0 + o.seconds() * 1_000_000_000L;
                int maxBatch = 2000;
                long c = 0;
                long d = 0;
                while (true) {
                    long now = System.nanoTime();
                    if (now >= end) {
                        break;
                    }
                    long target = o.rate() == 0 ? c + maxBatch : Math.min(c + maxBatch, (now - t0) * o.rate() / 1_000_000_000L);
                    if (target <= c) {
                        Thread.sleep(1);
                        continue;
                    }
                    var r = ct.create(SyntheticSessions.range(c, target, 600));
                    if (!r.ok()) {
                        throw new LabException(r.failures().size() + " creates failed, first: " + r.failures().getFirst());
                    }
                    c = target;
                    created = c;
                    if (c - d > o.live()) {
                        long to = c - o.live();
                        var rd = ct.delete(SyntheticSessions.range(d, to, 600));
                        if (!rd.ok()) {
                            throw new LabException(rd.failures().size() + " deletes failed, first: " + rd.failures().getFirst());
                        }
                        d = to;
                        deleted = d;
                    }
                }
            } catch (Exception e) {
                failure = e.toString();
            }
        }
    }

    /** utime + stime of a process (all its threads) in seconds; 0 when unknown. */
    /** Entries in a firewall's conntrack table. */
    static long kernelCount(LabTopology lab, String fw) {
        long[] n = new long[1];
        try (ConntrackSocket ct = Netns.callIn(lab.ns(fw), ConntrackSocket::open)) {
            ct.dump(e -> n[0]++);
        }
        return n[0];
    }

    static double cpuSeconds(long pid) {
        if (pid <= 0) {
            return 0;
        }
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) TICKS; // fields 14 and 15
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static void print(Result r, PrintStream out) {
        out.printf(Locale.ROOT, "%-10s replicated %,9.0f events/s (%,d in %.1f s; produced %,.0f/s)   lag p50/p99/max %s   "
                        + "CPU active %.2f s = %.2f µs/event, passive %.2f s = %.2f µs/event (not net of idle: "
                        + "%.1f%%/%.1f%% of a core)%n", r.impl(), r.replicatedPerSecond(), r.replicated(), r.replicateSeconds(),
                r.producedPerSecond(), r.lagSamples() > 0
                        ? String.format(Locale.ROOT, "%.1f/%.1f/%.1f ms (%d batches)", r.lagP50Us() / 1000.0, r.lagP99Us() / 1000.0,
                        r.lagMaxUs() / 1000.0, r.lagSamples())
                        : "n/a (catch-up " + Math.round(r.catchUpMs()) + " ms)",
                r.cpuActiveS(), r.usPerEventActive(), r.cpuPassiveS(), r.usPerEventPassive(), r.idleCpuActive() * 100,
                r.idleCpuPassive() * 100);
    }

    static String json(Options o, List<Result> rs) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "{\"bench\":\"sync\",\"mode\":\"%s\",\"rate\":%d,\"seconds\":%d,\"live\":%d",
                o.mode(), o.rate(), o.seconds(), o.live()));
        for (Result r : rs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("events_produced", r.created() + r.deleted());
            m.put("produced_per_s", Math.round(r.producedPerSecond()));
            m.put("events_replicated", r.replicated());
            m.put("replicated_per_s", Math.round(r.replicatedPerSecond()));
            m.put("catch_up_ms", Math.round(r.catchUpMs()));
            m.put("cached_at_end", r.finalCached());
            m.put("kernel_at_end", r.kernelCount());
            m.put("lag_p50_us", r.lagP50Us());
            m.put("lag_p99_us", r.lagP99Us());
            m.put("lag_max_us", r.lagMaxUs());
            m.put("cpu_active_s", String.format(Locale.ROOT, "%.2f", r.cpuActiveS()));
            m.put("cpu_passive_s", String.format(Locale.ROOT, "%.2f", r.cpuPassiveS()));
            m.put("us_per_event_active", String.format(Locale.ROOT, "%.2f", r.usPerEventActive()));
            m.put("us_per_event_passive", String.format(Locale.ROOT, "%.2f", r.usPerEventPassive()));
            b.append(",\"").append(r.impl()).append("\":{");
            int i = 0;
            for (Map.Entry<String, Object> e : m.entrySet()) {
                b.append(i++ == 0 ? "" : ",").append('"').append(e.getKey()).append("\":").append(e.getValue());
            }
            b.append('}');
        }
        return b.append('}').toString();
    }

    /** The daemons' logs outlive the lab: copied to /tmp/tandem-bench-PREFIX/. */
    static void keepLogs(LabTopology lab, PrintStream out) {
        Path to = Path.of("/tmp", "tandem-bench-" + lab.prefix());
        try (var files = Files.list(lab.runDir())) {
            Files.createDirectories(to);
            for (Path f : files.filter(f -> f.toString().endsWith(".log") || f.toString().endsWith(".out")).toList()) {
                Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            out.println("logs: " + to);
        } catch (IOException e) {
            out.println("logs not kept: " + e.getMessage());
        }
    }

    /** The session sync lines of a status-json answer. */
    static String syncLines(String statusJson) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "\"((?:sessions to|conntrack events|sessions cached|session sync mode direct|last commit)[^\"]*)\"").matcher(statusJson);
        List<String> l = new ArrayList<>();
        while (m.find()) {
            l.add(m.group(1));
        }
        return String.join("; ", l);
    }
}
