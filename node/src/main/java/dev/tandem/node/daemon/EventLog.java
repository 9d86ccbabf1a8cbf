package dev.tandem.node.daemon;

import dev.tandem.core.ha.HaEvent;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Where a node's events go: one plain line each on stdout (journald/syslog picks it up when run
 * as a service) and a bounded in-memory ring for `tandem status`. Issue 7 adds the database.
 */
public final class EventLog {
    private static final int CAPACITY = 200;
    private final ArrayDeque<String> ring = new ArrayDeque<>();
    private final PrintStream out;

    public EventLog(PrintStream out) {
        this.out = out;
    }

    public synchronized void record(HaEvent e) {
        add(e.kind().name(), e.text());
    }

    public synchronized void record(String kind, String text) {
        add(kind, text);
    }

    static String line(String kind, String text) {
        return Instant.now() + " " + kind + " " + text;
    }

    private void add(String kind, String text) {
        String line = line(kind, text);
        out.println(line);
        out.flush();
        ring.addLast(line);
        while (ring.size() > CAPACITY) {
            ring.removeFirst();
        }
    }

    public synchronized List<String> last(int n) {
        List<String> all = List.copyOf(ring);
        return all.subList(Math.max(0, all.size() - n), all.size());
    }
}
