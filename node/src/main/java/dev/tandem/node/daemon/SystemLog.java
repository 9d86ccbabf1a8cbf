package dev.tandem.node.daemon;

import dev.tandem.linux.UnixDatagramSocket;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Events to the system log: RFC 3164 datagrams to /dev/log (facility daemon), written by its own
 * thread from a bounded queue, so a stuck or absent syslog daemon never holds up the node's loop.
 */
public final class SystemLog implements AutoCloseable {
    private static final int FACILITY_DAEMON = 3;
    private static final int CAPACITY = 1000;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss", Locale.ROOT);

    private final String path;
    private final String tag;
    private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile String lastError = "";
    private volatile boolean open = true;
    private final Thread writer;

    public SystemLog(String path, String tag) {
        this.path = path;
        this.tag = tag + "[" + ProcessHandle.current().pid() + "]";
        this.writer = Thread.ofPlatform().daemon(true).name("syslog").start(this::run);
    }

    /** Severity by event kind: alarms and warnings are warnings, transitions notices, the rest info. */
    static int severity(String kind) {
        return switch (kind) {
            case "ERROR" -> 3;
            case "ALARM", "WARNING" -> 4;
            case "TRANSITION", "COMMAND" -> 5;
            default -> 6;
        };
    }

    static byte[] format(String tag, String kind, String text, ZonedDateTime at) {
        int pri = FACILITY_DAEMON * 8 + severity(kind);
        String line = "<" + pri + ">" + STAMP.format(at) + " " + tag + ": " + kind + " " + text;
        return line.getBytes(StandardCharsets.UTF_8);
    }

    public void write(String kind, String text) {
        if (!queue.offer(format(tag, kind, text, ZonedDateTime.now(ZoneId.systemDefault())))) {
            dropped.incrementAndGet();
        }
    }

    private void run() {
        try (UnixDatagramSocket s = UnixDatagramSocket.open()) {
            while (open || !queue.isEmpty()) {
                byte[] b = queue.poll(200, TimeUnit.MILLISECONDS);
                if (b == null) {
                    continue;
                }
                try {
                    s.send(path, b);
                } catch (RuntimeException e) {
                    failed.incrementAndGet(); // no syslog daemon (containers): stdout still has every event
                    lastError = e.getMessage();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            lastError = e.getMessage();
        }
    }

    public long dropped() {
        return dropped.get();
    }

    public long failed() {
        return failed.get();
    }

    public String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        open = false;
        try {
            writer.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
