package dev.tandem.node.monitor;

import dev.tandem.core.ha.Input;
import dev.tandem.core.net.IpAddress;
import dev.tandem.linux.IcmpEcho;
import dev.tandem.node.config.MonitorsConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Probes one path group: every interval, one ICMP echo to each destination (through the kernel,
 * from the node's configured source address), each result handed to the node's loop. Counting
 * failures and deciding "down" is the core's job. One platform thread per group: a probe blocks
 * in poll() for up to its timeout.
 */
public final class PathProber implements AutoCloseable {
    private final MonitorsConfig.PathGroup group;
    private final IpAddress source;
    private final Consumer<Input> sink;
    private final Consumer<String> warn;
    private volatile boolean running = true;
    private Thread thread;

    public PathProber(MonitorsConfig.PathGroup group, String source, Consumer<Input> sink, Consumer<String> warn) {
        this.group = group;
        this.source = source == null ? null : IpAddress.parse(source);
        this.sink = sink;
        this.warn = warn;
    }

    public void start() {
        thread = Thread.ofPlatform().daemon(true).name("path-" + group.name()).start(this::run);
    }

    private void run() {
        List<IcmpEcho> v4v6 = new ArrayList<>(2);
        IcmpEcho v4 = null;
        IcmpEcho v6 = null;
        String lastError = null;
        try {
            long next = System.nanoTime();
            while (running) {
                for (String d : group.destinations()) {
                    if (!running) {
                        return;
                    }
                    IpAddress dst = IpAddress.parse(d);
                    String error = "";
                    boolean ok;
                    try {
                        if (dst.isIpv6() && v6 == null) {
                            v6 = IcmpEcho.open(true, source != null && source.isIpv6() ? source.bytes() : null);
                            v4v6.add(v6);
                        } else if (!dst.isIpv6() && v4 == null) {
                            v4 = IcmpEcho.open(false, source != null && !source.isIpv6() ? source.bytes() : null);
                            v4v6.add(v4);
                        }
                        long rtt = (dst.isIpv6() ? v6 : v4).ping(dst.bytes(), group.timeoutMs());
                        ok = rtt >= 0;
                        if (!ok) {
                            error = "no reply within " + group.timeoutMs() + " ms";
                        }
                    } catch (RuntimeException e) {
                        ok = false;
                        error = e.getMessage();
                        if (!error.equals(lastError)) { // e.g. the source address is gone: say so once
                            warn.accept("path group '" + group.name() + "': probe to " + d + " failed: " + error);
                        }
                        lastError = error;
                        if (dst.isIpv6()) { // reopen next time: the bound source may come back
                            closeQuietly(v6);
                            v4v6.remove(v6);
                            v6 = null;
                        } else {
                            closeQuietly(v4);
                            v4v6.remove(v4);
                            v4 = null;
                        }
                    }
                    sink.accept(new Input.ProbeResult(group.name(), d, ok, error));
                }
                next += group.intervalMs() * 1_000_000L;
                long wait = next - System.nanoTime();
                if (wait <= 0) {
                    next = System.nanoTime(); // fell behind (slow probes): no burst to catch up
                } else {
                    Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            v4v6.forEach(PathProber::closeQuietly);
        }
    }

    private static void closeQuietly(IcmpEcho e) {
        if (e != null) {
            try {
                e.close();
            } catch (RuntimeException ignored) {
                // closing a socket that failed
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
