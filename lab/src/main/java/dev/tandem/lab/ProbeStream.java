package dev.tandem.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An ICMP echo probe stream from the lab's client to its server through the firewalls (SNAT), and
 * the client-observed outage of a failover read off the client's interface.
 *
 * <p>Only the kernel is in the measured loop: the server's kernel answers the echoes, and the probes
 * and echoes are captured on the client's interface with tcpdump, so every time is the kernel's
 * (when a probe left the client, when its echo came back). The probe client's JVM only has to send;
 * its pauses cannot pass for an outage. Why: a UDP stream echoed by a Java server and timed in the
 * JVMs showed 20–70 echoes a second more than 1 ms late and gaps of ~10 ms on an idle lab (on the
 * wire too: the Java echo server paused), while a ping beside it through the same path saw no round
 * trip above 0.3 ms; and ping itself slows to one probe per 10 ms once probes go unanswered, so it
 * cannot resolve a few milliseconds.
 *
 * <p>The outage is loss-derived (as in RFC 6201): for each run of probes that did not come back in
 * time (no echo, or an echo later than {@link #LATE_NANOS}), the time the first probe after it that
 * did left the client minus the time the last one before it left, minus one interval; the longest
 * run counts.
 */
public final class ProbeStream implements AutoCloseable {
    /**
     * The outcome. {@code outageMs}: the longest loss-derived outage; {@code replyGapMs}: the longest
     * gap between two echoes arriving on the client's interface; {@code probeGapMs}: the longest gap
     * between two probes leaving it (the instrument's own pauses: an outage inside one is not seen).
     */
    public record Result(long sent, long received, long lost, double outageMs, long lossRuns, long late, double replyGapMs,
            double probeGapMs) {}

    /** Probe interval: 0.2 ms, so a few-millisecond outage is resolved. */
    public static final int INTERVAL_MICROS = 200;
    /**
     * An echo later than this counts as lost: a path that queues packets (an unresolved neighbour, a
     * full queue) and delivers them late is not delivering. The round trip through the lab is ~0.05 ms.
     */
    static final long LATE_NANOS = 1_000_000;
    /** Bound on the probes one stream records (at 0.2 ms, about seven minutes). */
    static final int MAX_PROBES = 1 << 21;
    /** SCHED_FIFO priority of the probe client's JVM: above the daemons' (10 by default). */
    static final int REALTIME_PRIORITY = 20;
    /**
     * The probe client's JVM, all of whose threads run SCHED_FIFO (chrt): a safepoint stops the
     * sender until the VM thread has run, and a VM thread at normal priority waited up to the RT
     * throttling period (~0.9 s) behind real-time threads. C1 only (compiles in milliseconds), no
     * periodic safepoint, no collection after start (the loop allocates nothing).
     */
    private static final List<String> PROBE_JVM = List.of("-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:+UnlockDiagnosticVMOptions", "-XX:GuaranteedSafepointInterval=0", "-XX:-UsePerfData");

    private final Process capture;
    private final Path pcap;
    private final Process client;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>(1000);

    private ProbeStream(Process capture, Path pcap, Process client) {
        this.capture = capture;
        this.pcap = pcap;
        this.client = client;
        Thread.ofPlatform().daemon(true).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(client.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    lines.offer(l);
                }
            } catch (IOException e) {
                // the client ended
            }
        });
    }

    public static ProbeStream start(LabTopology lab, boolean ipv6) {
        Path pcap = lab.runDir().resolve("probe.pcap");
        Process capture = null;
        try {
            Files.deleteIfExists(pcap);
            capture = new ProcessBuilder("ip", "netns", "exec", lab.ns("client"), "tcpdump", "-i", "eth0", "-n", "-s", "96",
                    "-B", "16384", "--time-stamp-precision=nano", "-w", pcap.toString(),
                    ipv6 ? "icmp6[0] == 128 or icmp6[0] == 129" : "icmp[0] == 8 or icmp[0] == 0")
                    .redirectErrorStream(true).start();
            awaitListening(capture);
            List<String> cmd = new ArrayList<>(List.of("chrt", "-f", Integer.toString(REALTIME_PRIORITY)));
            cmd.addAll(JavaProcess.command(lab.ns("client"), ProbeClient.class.getName(), PROBE_JVM,
                    List.of(ipv6 ? LabTopology.SERVER6 : LabTopology.SERVER, Integer.toString(INTERVAL_MICROS))));
            Process client = new ProcessBuilder(cmd)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            return new ProbeStream(capture, pcap, client);
        } catch (IOException | RuntimeException e) {
            if (capture != null) {
                capture.destroyForcibly();
            }
            throw new LabException("cannot start the probe stream: " + e.getMessage());
        }
    }

    /** Waits (bounded) for tcpdump's "listening on", then drains what else it says. */
    private static void awaitListening(Process capture) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(capture.getInputStream(), StandardCharsets.UTF_8));
        LinkedBlockingQueue<String> said = new LinkedBlockingQueue<>(100);
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                String l;
                while ((l = r.readLine()) != null) {
                    said.offer(l);
                }
            } catch (IOException e) {
                // tcpdump ended
            }
        });
        long end = System.nanoTime() + 5_000_000_000L;
        StringBuilder text = new StringBuilder();
        try {
            while (System.nanoTime() < end) {
                String l = said.poll(50, TimeUnit.MILLISECONDS);
                if (l != null && l.contains("listening on")) {
                    return;
                }
                if (l != null) {
                    text.append(l).append('\n');
                }
                if (l == null && !capture.isAlive()) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new LabException("tcpdump in the client namespace did not start capturing: " + text);
    }

    /** Waits for the first reply. */
    public void awaitFlowing(long timeoutMs) {
        try {
            String l = lines.poll(timeoutMs, TimeUnit.MILLISECONDS);
            if (!"flowing".equals(l)) {
                throw new LabException("the probe stream client -> server did not flow within " + timeoutMs + " ms"
                        + (l == null ? "" : ": " + l));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted");
        }
    }

    /** Stops the client, then the capture once the last echoes are in, and returns the figures. */
    public Result stop() {
        try {
            client.getOutputStream().close();
            client.waitFor(5, TimeUnit.SECONDS);
            Cmd.sleep(50);
            capture.destroy(); // SIGTERM: tcpdump flushes and closes the file
            if (!capture.waitFor(5, TimeUnit.SECONDS)) {
                throw new LabException("tcpdump did not stop");
            }
            return read(Files.readAllBytes(pcap));
        } catch (IOException e) {
            throw new LabException("cannot read the probe capture " + pcap + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted");
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        client.destroyForcibly();
        capture.destroyForcibly();
    }

    /** The figures of a capture (pcap, nanosecond timestamps, Ethernet) of probes and echoes. */
    static Result read(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        if (file.length < 24) {
            throw new LabException("the probe capture is " + file.length + " bytes: no pcap header");
        }
        int magic = b.getInt(0);
        boolean nanos = magic == 0xa1b23c4d;
        if (!nanos && magic != 0xa1b2c3d4) {
            throw new LabException("the probe capture is not a little-endian pcap (magic " + Integer.toHexString(magic) + ")");
        }
        Probes probes = new Probes();
        int at = 24;
        int bound = MAX_PROBES * 4; // packets: probes, echoes and a margin
        for (int n = 0; n + 1 < bound && at + 16 <= file.length; n++) {
            long ts = (b.getInt(at) & 0xFFFFFFFFL) * 1_000_000_000L + (b.getInt(at + 4) & 0xFFFFFFFFL) * (nanos ? 1 : 1000);
            int caplen = b.getInt(at + 8);
            int pkt = at + 16;
            at = pkt + caplen;
            if (caplen < 0 || at > file.length) {
                break; // a record cut by the stop
            }
            probes.packet(ByteBuffer.wrap(file, pkt, caplen).slice(), ts);
        }
        return probes.result();
    }

    /** Probes and echoes by sequence number, with the times they crossed the client's interface. */
    static final class Probes {
        private final long[] sentAt = new long[MAX_PROBES];
        private final BitSet sent = new BitSet();
        private final BitSet onTime = new BitSet();
        private long received;
        private long late;
        private long lastEcho = -1;
        private long maxGap;

        /** One Ethernet frame holding an ICMP or ICMPv6 echo request or reply; others are skipped. */
        void packet(ByteBuffer f, long ts) {
            if (f.limit() < 14) {
                return;
            }
            int type = f.getShort(12) & 0xFFFF;
            int icmp;
            boolean request;
            boolean reply;
            if (type == 0x0800 && f.limit() >= 34 && f.get(23) == 1) {
                icmp = 14 + (f.get(14) & 0x0F) * 4;
                request = f.limit() > icmp && f.get(icmp) == 8;
                reply = f.limit() > icmp && f.get(icmp) == 0;
            } else if (type == 0x86DD && f.limit() >= 55 && f.get(20) == 58) {
                icmp = 54;
                request = (f.get(icmp) & 0xFF) == 128;
                reply = (f.get(icmp) & 0xFF) == 129;
            } else {
                return;
            }
            if (f.limit() < icmp + 8 + 8 || !(request || reply)) {
                return;
            }
            long seq = f.getLong(icmp + 8); // the probe's payload: its number
            if (seq < 0 || seq >= MAX_PROBES) {
                return;
            }
            if (request) {
                probe((int) seq, ts);
            } else {
                echo((int) seq, ts);
            }
        }

        void probe(int seq, long ts) {
            if (!sent.get(seq)) {
                sent.set(seq);
                sentAt[seq] = ts;
            }
        }

        void echo(int seq, long ts) {
            received++;
            if (lastEcho >= 0) {
                maxGap = Math.max(maxGap, ts - lastEcho);
            }
            lastEcho = ts;
            if (!sent.get(seq) || onTime.get(seq)) {
                return; // not seen leaving (capture started late) or a duplicate
            }
            if (ts - sentAt[seq] <= LATE_NANOS) {
                onTime.set(seq);
            } else {
                late++;
            }
        }

        Result result() {
            // number the probes seen leaving densely, so a probe the client never sent is no loss
            int n = sent.cardinality();
            long[] at = new long[n];
            BitSet ok = new BitSet(n);
            long probeGap = 0;
            int i = 0;
            for (int s = sent.nextSetBit(0); s >= 0; s = sent.nextSetBit(s + 1)) {
                at[i] = sentAt[s];
                if (i > 0) {
                    probeGap = Math.max(probeGap, at[i] - at[i - 1]);
                }
                if (onTime.get(s)) {
                    ok.set(i);
                }
                i++;
            }
            long[] w = lossWindow(at, ok, n, INTERVAL_MICROS * 1000L);
            return new Result(n, received, n - ok.cardinality(), w[0] / 1e6, w[1], late, maxGap / 1e6, probeGap / 1e6);
        }
    }

    /**
     * The longest loss-derived outage (in the unit of the times) and the number of loss runs. Probes
     * lost before the first on-time echo or after the last one (start-up, shutdown) are no outage.
     */
    static long[] lossWindow(long[] sentAt, BitSet onTime, int sent, long interval) {
        int last = onTime.nextSetBit(0);
        long longest = 0;
        long runs = 0;
        while (last >= 0) {
            int nextLost = onTime.nextClearBit(last);
            if (nextLost >= sent) {
                break;
            }
            int back = onTime.nextSetBit(nextLost);
            if (back < 0 || back >= sent) {
                break;
            }
            runs++;
            longest = Math.max(longest, sentAt[back] - sentAt[nextLost - 1] - interval);
            last = back;
        }
        return new long[] {longest, runs};
    }
}
