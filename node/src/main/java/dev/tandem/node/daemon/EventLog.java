package dev.tandem.node.daemon;

import dev.tandem.core.ha.HaEvent;
import dev.tandem.node.events.Event;
import dev.tandem.node.events.EventStore;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Where a node's events go: one plain line each on stdout (journald picks it up when run as a
 * service), a bounded in-memory ring for `tandem status`, and — once attached — the event database,
 * the system log and listeners (alerts, the dashboard's live stream). None of these may block the
 * caller (the node's loop): the store and the system log queue, listeners must hand off.
 */
public final class EventLog {
    private static final int CAPACITY = 200;
    private final ArrayDeque<String> ring = new ArrayDeque<>();
    private final PrintStream out;
    private final String node;
    private volatile EventStore store;
    private volatile SystemLog syslog;
    private final List<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();

    public EventLog(PrintStream out) {
        this(out, "-");
    }

    public EventLog(PrintStream out, String node) {
        this.out = out;
        this.node = node;
    }

    public void attach(EventStore store, SystemLog syslog) {
        this.store = store;
        this.syslog = syslog;
    }

    public void listen(Consumer<Event> l) {
        listeners.add(l);
    }

    public void record(HaEvent e) {
        add(e.kind().name(), e.text(), e.actor());
    }

    public void record(String kind, String text) {
        add(kind, text, "");
    }

    static String line(String kind, String text) {
        return Instant.now() + " " + kind + " " + text;
    }

    private void add(String kind, String text, String actor) {
        String line = line(kind, text);
        synchronized (this) {
            out.println(line);
            out.flush();
            ring.addLast(line);
            while (ring.size() > CAPACITY) {
                ring.removeFirst();
            }
        }
        if (store == null && syslog == null && listeners.isEmpty()) {
            return;
        }
        Event ev = Event.of(System.currentTimeMillis(), node, kind, text, actor == null || actor.isEmpty() ? null : actor);
        EventStore s = store;
        if (s != null) {
            s.append(ev);
        }
        SystemLog l = syslog;
        if (l != null) {
            l.write(kind, text);
        }
        for (Consumer<Event> c : listeners) {
            try {
                c.accept(ev);
            } catch (RuntimeException ex) {
                synchronized (this) {
                    out.println(line("WARNING", "event listener failed: " + ex));
                }
            }
        }
    }

    public synchronized List<String> last(int n) {
        List<String> all = List.copyOf(ring);
        return all.subList(Math.max(0, all.size() - n), all.size());
    }
}
