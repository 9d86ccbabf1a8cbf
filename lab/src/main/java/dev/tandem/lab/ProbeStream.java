package dev.tandem.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A 1 ms UDP probe stream from the lab's client to its server, through the firewalls (SNAT). */
public final class ProbeStream implements AutoCloseable {
    public static final int PORT = 7777;
    private static final Pattern JSON = Pattern.compile(
            "\\{\"sent\":(\\d+),\"received\":(\\d+),\"lost\":(\\d+),\"max_gap_ms\":([0-9.]+),\"gap_end_ms\":([0-9.]+)}");

    /** The outcome: longest gap between replies is the client-observed outage. */
    public record Result(long sent, long received, long lost, double outageMs) {}

    /** SCHED_FIFO priority of the probe client and server threads: above the daemons' (10 by default). */
    static final int REALTIME_PRIORITY = 20;

    private final Process server;
    private final Process client;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>(1000);

    private ProbeStream(Process server, Process client) {
        this.server = server;
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

    public static ProbeStream start(LabTopology lab, boolean ipv6, int intervalMicros) {
        Process server = JavaProcess.start(JavaProcess.command(lab.ns("server"), ProbeServer.class.getName(),
                List.of("-Xmx32m", "-XX:+UseSerialGC"), List.of(Integer.toString(PORT))), lab.runDir().resolve("probe-server.log"));
        Cmd.sleep(400); // the server's JVM binds first
        Process client;
        try {
            client = new ProcessBuilder(JavaProcess.command(lab.ns("client"), ProbeClient.class.getName(),
                    List.of("-Xmx32m", "-XX:+UseSerialGC"), List.of(ipv6 ? LabTopology.SERVER6 : LabTopology.SERVER, Integer.toString(PORT),
                            Integer.toString(intervalMicros)))).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            server.destroyForcibly();
            throw new LabException("cannot start the probe client: " + e.getMessage());
        }
        return new ProbeStream(server, client);
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

    /** Stops the client and returns its figures. */
    public Result stop() {
        try {
            client.getOutputStream().close();
            long end = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < end) {
                String l = lines.poll(100, TimeUnit.MILLISECONDS);
                if (l == null) {
                    continue;
                }
                Matcher m = JSON.matcher(l);
                if (m.matches()) {
                    return new Result(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                            Double.parseDouble(m.group(4)));
                }
            }
            throw new LabException("the probe client gave no result");
        } catch (IOException e) {
            throw new LabException("cannot stop the probe client: " + e.getMessage());
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
        server.destroyForcibly();
    }
}
