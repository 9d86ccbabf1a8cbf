package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A ctnetlink event subscription: a NETLINK_NETFILTER socket joined to the conntrack groups asked for,
 * read by a platform thread of its own that hands each event to a {@link Listener}.
 *
 * <p>The kernel sends one datagram per event and drops what does not fit the receive buffer: the
 * socket then reports ENOBUFS once, and the listener's {@link Listener#overrun()} is called. Events were
 * lost: the owner must dump the table and resynchronise. The kernel reports ENOBUFS before the datagrams
 * still queued, which are older than any dump taken now; so overrun() comes after them, once the socket
 * has been read empty (or after {@link #OVERRUN_DELAY_DATAGRAMS} more datagrams under sustained load):
 * a dump taken then is newer than every event delivered before it. A large buffer (tens of MiB) makes
 * overruns rare.
 */
public final class ConntrackEvents implements AutoCloseable {
    /**
     * View mode: after events, once the socket is read empty, the reader waits this long before it
     * polls again, so that a busy stream is read in batches (at 100,000 events/s: ~50 per wake-up).
     * It adds at most this much to the latency of an event; the receive buffer holds far more.
     */
    static final long COALESCE_NANOS = 500_000;
    /** Datagrams read per wake-up before the events are delivered (bounds the list and the lock hold). */
    private static final int DRAIN = 512;

    /** Receives events on the subscription's thread; must not block for long (events queue in the kernel). */
    public interface Listener {
        void event(ConntrackEvent event);

        /** Events were lost (ENOBUFS): dump and resynchronise. */
        default void overrun() {}

        /** A notification could not be decoded and was skipped. */
        default void malformed(ConntrackCodec.DecodeException e) {}
    }

    /**
     * Receives every event decoded into one reused {@link ConntrackView}, on the subscription's thread,
     * without allocation per event: the view is valid only during the call (copy what you keep). Called
     * while the subscription holds its socket, so a {@link #close()} from another thread waits for the
     * call in progress (up to {@link #DRAIN} datagrams' worth): keep it short and never block.
     */
    public interface ViewListener {
        void event(ConntrackView event);

        /** Events were lost (ENOBUFS): dump and resynchronise. */
        default void overrun() {}

        /** A notification could not be decoded and was skipped. */
        default void malformed(ConntrackCodec.DecodeException e) {}
    }

    /** A listener from a consumer and an overrun callback. */
    public static Listener listener(Consumer<ConntrackEvent> events, Runnable onOverrun) {
        Objects.requireNonNull(events, "events");
        Objects.requireNonNull(onOverrun, "onOverrun");
        return new Listener() {
            @Override
            public void event(ConntrackEvent event) {
                events.accept(event);
            }

            @Override
            public void overrun() {
                onOverrun.run();
            }
        };
    }

    private final Listener listener;
    private final ViewListener viewListener;
    private final CtnlSocket socket;
    private final Arena arena = Arena.ofShared();
    private final WakeablePoll poll;
    private final ReentrantLock lock = new ReentrantLock();
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean closeDone;
    private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile long received;
    private volatile long overruns;
    private volatile long malformed;

    private ConntrackEvents(Set<ConntrackEvent.Type> types, int receiveBufferBytes, Listener listener,
            ViewListener viewListener) {
        if ((listener == null) == (viewListener == null)) {
            throw new IllegalArgumentException("one listener");
        }
        this.listener = listener;
        this.viewListener = viewListener;
        if (types.isEmpty()) {
            throw new IllegalArgumentException("no event types");
        }
        if (receiveBufferBytes < 4096) {
            throw new IllegalArgumentException("receive buffer of " + receiveBufferBytes + " bytes");
        }
        int groups = 0;
        for (ConntrackEvent.Type t : types) {
            groups |= t.groupBit();
        }
        this.socket = new CtnlSocket(groups, receiveBufferBytes, 0, 0);
        try {
            this.poll = new WakeablePoll(arena);
        } catch (RuntimeException e) {
            socket.close();
            arena.close();
            throw e;
        }
        thread = Thread.ofPlatform().name("conntrack-events").daemon(true).unstarted(this::run);
    }

    /**
     * Like {@link #open(Set, int, Listener)}, but events are decoded into one reused view and handed over
     * without allocating (see {@link ViewListener}).
     */
    public static ConntrackEvents openViews(Set<ConntrackEvent.Type> types, int receiveBufferBytes, ViewListener listener) {
        ConntrackEvents ev = new ConntrackEvents(types, receiveBufferBytes, null, Objects.requireNonNull(listener, "listener"));
        ev.thread.start();
        return ev;
    }

    /**
     * Subscribes in the calling thread's network namespace. types: which of NEW, UPDATE, DESTROY;
     * receiveBufferBytes: SO_RCVBUFFORCE (e.g. {@link ConntrackSocket#DEFAULT_EVENT_BUFFER}).
     */
    public static ConntrackEvents open(Set<ConntrackEvent.Type> types, int receiveBufferBytes, Listener listener) {
        ConntrackEvents ev = new ConntrackEvents(types, receiveBufferBytes, Objects.requireNonNull(listener, "listener"), null);
        ev.thread.start();
        return ev;
    }

    /** Events delivered so far. */
    public long received() {
        return received;
    }

    /** ENOBUFS overruns seen so far. */
    public long overruns() {
        return overruns;
    }

    /** Notifications skipped because they could not be decoded. */
    public long malformed() {
        return malformed;
    }

    boolean isClosed() {
        return closed;
    }

    private void run() {
        try {
            if (viewListener != null) {
                readViews();
            } else {
                read();
            }
        } catch (RuntimeException e) {
            if (!closed) {
                System.err.println("conntrack-events: reader stopped, conntrack changes are no longer seen: " + e);
            }
        } finally {
            if (closeDone) {
                release();
            }
        }
    }

    private void read() {
        List<Object> batch = new ArrayList<>(DRAIN);
        while (!closed) {
            if (!poll.awaitReadable(socket.fd)) {
                return;
            }
            batch.clear();
            lock.lock();
            try {
                if (closed) {
                    return;
                }
                for (int i = 0; i < DRAIN; i++) {
                    int n = socket.receive(Libc.MSG_DONTWAIT);
                    if (n == -Errno.EAGAIN) {
                        if (overrunPendingFor >= 0) { // read empty: every event older than the overrun is in
                            batch.add(OVERRUN);
                            overrunPendingFor = -1;
                        }
                        break;
                    }
                    if (n == -Errno.EINTR) {
                        continue;
                    }
                    if (n == -Errno.ENOBUFS) {
                        overrunPendingFor = 0;
                        continue;
                    }
                    if (overrunPendingFor >= 0 && ++overrunPendingFor >= OVERRUN_DELAY_DATAGRAMS) {
                        batch.add(OVERRUN);
                        overrunPendingFor = -1;
                    }
                    if (n < 0) {
                        throw new NativeException("recv(conntrack events)", -n);
                    }
                    try {
                        ConntrackCodec.forEachMessage(socket.data(), n, (type, flags, seq, buf, off, len) -> {
                            if (type == ConntrackCodec.CT_NEW || type == ConntrackCodec.CT_DELETE) {
                                try {
                                    batch.add(ConntrackCodec.decodeEvent(buf, off, len));
                                } catch (ConntrackCodec.DecodeException e) {
                                    batch.add(e);
                                }
                            }
                        });
                    } catch (ConntrackCodec.DecodeException e) {
                        batch.add(e);
                    }
                }
            } finally {
                lock.unlock();
            }
            deliver(batch);
        }
    }

    /** The view mode: decode and deliver each datagram as it is read, under the lock. */
    private void readViews() {
        ConntrackView view = new ConntrackView();
        ConntrackCodec.MessageVisitor visitor = (type, flags, seq, buf, off, len) -> {
            if ((type == ConntrackCodec.CT_NEW || type == ConntrackCodec.CT_DELETE) && !closed) {
                try {
                    ConntrackCodec.decodeInto(buf, off, len, view);
                } catch (ConntrackCodec.DecodeException e) {
                    viewMalformed(e);
                    return;
                }
                received++;
                try {
                    viewListener.event(view);
                } catch (RuntimeException e) {
                    System.err.println("conntrack-events: listener failed, reading on: " + e);
                }
            }
        };
        boolean coalesce = false;
        while (!closed) {
            if (coalesce) {
                // events were flowing and the socket is read empty: let a few more arrive before the next
                // wake-up (a wake-up and a recvmmsg per event cost more than the events' own work)
                java.util.concurrent.locks.LockSupport.parkNanos(COALESCE_NANOS);
                coalesce = false;
            }
            if (!poll.awaitReadable(socket.fd)) {
                return;
            }
            lock.lock();
            try {
                // up to CtnlSocket.MANY datagrams per system call (one recvmmsg instead of a recv per event)
                for (int got = 0; got < DRAIN && !closed; ) {
                    int n = socket.receiveMany(Libc.MSG_DONTWAIT);
                    if (n == -Errno.EAGAIN) {
                        if (overrunPendingFor >= 0) { // read empty: every event older than the overrun is in
                            overrunPendingFor = -1;
                            viewOverrun();
                        }
                        coalesce = got > 0;
                        break;
                    }
                    if (n == -Errno.EINTR) {
                        continue;
                    }
                    if (n == -Errno.ENOBUFS) {
                        overrunPendingFor = 0;
                        continue;
                    }
                    if (n < 0) {
                        throw new NativeException("recvmmsg(conntrack events)", -n);
                    }
                    if (n == 0) {
                        break;
                    }
                    got += n;
                    byte[] data = socket.manyData();
                    for (int d = 0; d < n && !closed; d++) {
                        if (overrunPendingFor >= 0 && ++overrunPendingFor >= OVERRUN_DELAY_DATAGRAMS) {
                            overrunPendingFor = -1;
                            viewOverrun();
                        }
                        int len = socket.manyLength(d);
                        try {
                            if (len < 0) {
                                throw new ConntrackCodec.DecodeException("notification longer than "
                                        + CtnlSocket.MANY_BYTES + " bytes (skipped)");
                            }
                            ConntrackCodec.forEachMessage(data, d * CtnlSocket.MANY_BYTES, len, visitor);
                        } catch (ConntrackCodec.DecodeException e) {
                            viewMalformed(e);
                        }
                    }
                }
            } finally {
                lock.unlock();
            }
        }
    }

    private void viewOverrun() {
        if (closed) {
            return;
        }
        overruns++;
        try {
            viewListener.overrun();
        } catch (RuntimeException e) {
            System.err.println("conntrack-events: listener failed, reading on: " + e);
        }
    }

    private void viewMalformed(ConntrackCodec.DecodeException e) {
        if (closed) {
            return;
        }
        malformed++;
        try {
            viewListener.malformed(e);
        } catch (RuntimeException x) {
            System.err.println("conntrack-events: listener failed, reading on: " + x);
        }
    }

    private static final Object OVERRUN = new Object();
    /** Datagrams read after an ENOBUFS before overrun() is delivered even though the socket is not empty. */
    static final int OVERRUN_DELAY_DATAGRAMS = 1 << 20;
    private long overrunPendingFor = -1; // datagrams read since an ENOBUFS not yet delivered; -1: none

    /** Outside the lock: a slow listener never delays close(). */
    private void deliver(List<Object> batch) {
        for (Object o : batch) {
            if (closed) {
                return;
            }
            try {
                if (o instanceof ConntrackEvent e) {
                    received++;
                    listener.event(e);
                } else if (o instanceof ConntrackCodec.DecodeException e) {
                    malformed++;
                    listener.malformed(e);
                } else {
                    overruns++;
                    listener.overrun();
                }
            } catch (RuntimeException e) {
                // one failed delivery must not end the reader: no later change would be seen
                System.err.println("conntrack-events: listener failed, reading on: " + e);
            }
        }
    }

    /**
     * Stops the reader and closes the socket; safe from any thread (the listener's included), at any
     * time, more than once. Waits up to 2 s for the reader to return from a listener call; a reader
     * stuck longer releases the eventfd itself when it returns.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        poll.wake(); // only close() releases the eventfd, and only after this
        lock.lock();
        try {
            socket.close(); // the reader touches the socket only under the lock, and re-checks closed there
        } finally {
            lock.unlock();
        }
        closeDone = true;
        if (Thread.currentThread() != thread && thread.isAlive()) {
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!thread.isAlive() || Thread.currentThread() == thread) {
            release(); // (from the listener: the reader returns to a closed flag and touches nothing after)
        }
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            poll.close();
            arena.close();
        }
    }
}
