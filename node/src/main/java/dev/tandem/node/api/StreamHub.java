package dev.tandem.node.api;

import com.sun.net.httpserver.HttpExchange;
import dev.tandem.node.events.Event;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The server-sent-events side of {@link ApiServer}. The node's listener calls only flag the change and wake the
 * broadcaster thread; the broadcaster reads the status (once per burst of changes, and only when someone listens),
 * formats the messages and offers them to each client's bounded queue; one writer thread per client writes them.
 * A client whose queue is full or whose write has stalled for {@code stallTimeout} is dropped: its writer is
 * interrupted, which closes the connection under it.
 */
final class StreamHub implements NodeView.Listener, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("tandem.api");
    /** Events kept for the broadcaster between two wake-ups (the oldest go first). */
    static final int MAX_PENDING_EVENTS = 1000;

    private final NodeView view;
    private final ApiServer.Settings settings;
    private final Semaphore slots;
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();
    private final Object lock = new Object();
    private final ArrayDeque<Event> pendingEvents = new ArrayDeque<>();
    private boolean statusDirty;
    private boolean newClients;
    private volatile boolean closed;
    private Thread broadcaster;

    StreamHub(NodeView view, ApiServer.Settings settings) {
        this.view = view;
        this.settings = settings;
        this.slots = new Semaphore(settings.maxStreamClients());
    }

    void start() {
        broadcaster = Thread.ofPlatform().name("api-stream-" + view.node()).daemon(true).start(this::broadcast);
    }

    int clients() {
        return clients.size();
    }

    // --- NodeView.Listener: called on the node's threads, never block

    @Override
    public void statusChanged() {
        synchronized (lock) {
            statusDirty = true;
            lock.notifyAll();
        }
    }

    @Override
    public void eventAppended(Event event) {
        if (event == null) {
            return;
        }
        synchronized (lock) {
            if (pendingEvents.size() >= MAX_PENDING_EVENTS) {
                pendingEvents.pollFirst();
            }
            pendingEvents.addLast(event);
            lock.notifyAll();
        }
    }

    // --- clients

    /** A new client in a free slot (not yet started), or null when all slots are taken. */
    Client tryOpen(HttpExchange ex, String who) {
        if (closed || !slots.tryAcquire()) {
            return null;
        }
        return new Client(ex, who);
    }

    private void broadcast() {
        long keepaliveNanos = settings.keepalive().toNanos();
        long lastSent = System.nanoTime();
        while (!closed) {
            boolean status;
            boolean fresh;
            List<Event> events;
            synchronized (lock) {
                if (!statusDirty && !newClients && pendingEvents.isEmpty()) {
                    try {
                        lock.wait(250); // also the pace of the stall check
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                status = statusDirty;
                fresh = newClients;
                events = new ArrayList<>(pendingEvents);
                statusDirty = false;
                newClients = false;
                pendingEvents.clear();
            }
            if (closed) {
                return;
            }
            long now = System.nanoTime();
            for (Client c : clients) {
                c.checkStall(now);
            }
            if (clients.isEmpty()) {
                continue; // nobody listens: nothing to read or format
            }
            if (status || fresh) {
                String json;
                try {
                    json = view.statusJson();
                } catch (Exception e) {
                    LOG.log(System.Logger.Level.WARNING, "api stream: status of " + view.node() + " unavailable: " + e);
                    json = null;
                }
                if (json != null) {
                    String msg = message("status", json);
                    for (Client c : clients) {
                        if (status || !c.hadSnapshot) {
                            c.hadSnapshot = true;
                            c.offer(msg);
                        }
                    }
                    lastSent = now;
                }
            }
            for (Event e : events) {
                String msg = message("event", ApiServer.eventJson(e));
                for (Client c : clients) {
                    if (c.hadSnapshot) {
                        c.offer(msg);
                    }
                }
                lastSent = now;
            }
            if (now - lastSent >= keepaliveNanos) {
                for (Client c : clients) {
                    c.offer(": keepalive\n\n");
                }
                lastSent = now;
            }
        }
    }

    /** An SSE message; data split on line breaks so each line is its own data: field. */
    static String message(String event, String data) {
        StringBuilder b = new StringBuilder("event: ").append(event).append('\n');
        for (String line : data.split("\r\n|\r|\n", -1)) {
            b.append("data: ").append(line).append('\n');
        }
        return b.append('\n').toString();
    }

    @Override
    public void close() {
        closed = true;
        synchronized (lock) {
            lock.notifyAll();
        }
        if (broadcaster != null) {
            broadcaster.interrupt();
        }
        for (Client c : clients) {
            c.drop("server closing");
        }
    }

    /** One connected stream client. */
    final class Client {
        private final HttpExchange ex;
        private final String who;
        private final BlockingQueue<String> queue;
        private volatile Thread writer;
        private volatile boolean dropped;
        private volatile long writeStarted; // System.nanoTime() of the write in progress, 0 when none
        volatile boolean hadSnapshot;

        Client(HttpExchange ex, String who) {
            this.ex = ex;
            this.who = who;
            this.queue = new ArrayBlockingQueue<>(settings.streamQueue());
        }

        /** Registers the client and starts its writer; the broadcaster sends it a status snapshot first. */
        void start() {
            queue.offer("retry: 3000\n\n");
            writer = Thread.ofVirtual().name("api-stream-writer-" + who).unstarted(this::write);
            clients.add(this);
            writer.start();
            synchronized (lock) {
                newClients = true;
                lock.notifyAll();
            }
            LOG.log(System.Logger.Level.DEBUG, "api stream: token '" + who + "' connected (" + clients.size() + " clients)");
        }

        void offer(String msg) {
            if (!dropped && !queue.offer(msg)) {
                drop("too slow (" + settings.streamQueue() + " messages waiting)");
            }
        }

        void checkStall(long now) {
            long w = writeStarted;
            if (w != 0 && now - w > settings.stallTimeout().toNanos()) {
                drop("a write stalled for more than " + settings.stallTimeout().toMillis() + " ms");
                Thread t = writer;
                if (t != null) {
                    t.interrupt(); // again: it may be stuck in the final write of close()
                }
            }
        }

        void drop(String why) {
            if (dropped) {
                return;
            }
            dropped = true;
            LOG.log(System.Logger.Level.INFO, "api stream: dropping token '" + who + "': " + why);
            Thread t = writer;
            if (t != null) {
                t.interrupt(); // closes the connection under a blocked write
            } else {
                slots.release();
            }
        }

        private void write() {
            try {
                OutputStream out = ex.getResponseBody();
                while (!dropped) {
                    String msg = queue.poll(1, TimeUnit.SECONDS);
                    if (msg == null) {
                        continue;
                    }
                    writeStarted = System.nanoTime();
                    out.write(msg.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    writeStarted = 0;
                }
            } catch (InterruptedException e) {
                // dropped
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "api stream: token '" + who + "' gone: " + e.getMessage());
            } finally {
                dropped = true;
                Thread.interrupted(); // so the close below can write what it needs if it still can
                writeStarted = System.nanoTime(); // the close may write too: still under the stall check
                try {
                    ex.close();
                } catch (RuntimeException e) {
                    // already broken
                } finally {
                    clients.remove(this);
                    slots.release();
                }
            }
        }
    }
}
