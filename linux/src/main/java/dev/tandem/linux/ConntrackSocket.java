package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The conntrack table of one network namespace over ctnetlink: dump, batched create / update / delete,
 * flush, and event subscriptions.
 *
 * <p>The socket lives in the network namespace of the thread that calls {@link #open()}; so does every
 * subscription {@link #events} opens (call it on a thread in the same namespace).
 *
 * <p>Requests are serialised (one lock); {@link #close()} may be called from any thread at any time: it
 * waits for the request in flight (every receive is bounded by a 10 s timeout, a batch operation stops
 * at its next batch) and closes the subscriptions opened here.
 */
public final class ConntrackSocket implements AutoCloseable {
    /** Default receive buffer of an event subscription (SO_RCVBUFFORCE). */
    public static final int DEFAULT_EVENT_BUFFER = 64 << 20;
    /** Bytes of requests per sendto (the kernel processes them in order before sendto returns). */
    static final int BATCH_BYTES = 256 << 10;
    private static final int REQUEST_RCVBUF = 8 << 20;
    private static final int TIMEOUT_MS = 10_000;
    /** Upper bound on the datagrams of one dump (a dump datagram holds up to ~100 entries). */
    private static final int MAX_DUMP_DATAGRAMS = 1 << 22;

    /**
     * One entry the kernel refused, with the errno it gave (EEXIST, ENOENT, EINVAL, EBUSY, ENOMEM...);
     * index: its item's position in the list the batch was given (-1 if not from one).
     */
    public record Failure(ConntrackEntry entry, int errno, int index) {
        public Failure(ConntrackEntry entry, int errno) {
            this(entry, errno, -1);
        }

        public String reason() {
            return Errno.name(errno) + " (" + Errno.describe(errno) + ")";
        }

        @Override
        public String toString() {
            return reason() + ": " + entry;
        }
    }

    /**
     * Outcome of a batch: how many entries were sent, how many items held no entry (skipped by the loader)
     * and which entries the kernel refused.
     */
    public record BatchResult(int attempted, int skipped, List<Failure> failures) {
        public BatchResult {
            failures = List.copyOf(failures);
        }

        public int succeeded() {
            return attempted - failures.size();
        }

        public boolean ok() {
            return failures.isEmpty();
        }
    }

    /**
     * Outcome of a streamed dump. malformed: messages that could not be decoded (skipped); interrupted:
     * the kernel flagged the dump NLM_F_DUMP_INTR (the table changed under it; entries may be missing or
     * repeated: dump again if it matters).
     */
    public record DumpStats(long entries, long malformed, boolean interrupted) {}

    private final CtnlSocket socket;
    private final ByteBuffer batch;
    private final ReentrantLock lock = new ReentrantLock();
    private final List<ConntrackEvents> subscriptions = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    private int seq = (int) (System.nanoTime() & 0x3fffffff);

    private ConntrackSocket() {
        socket = new CtnlSocket(0, REQUEST_RCVBUF, BATCH_BYTES, TIMEOUT_MS);
        batch = socket.sendBuffer().asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /** Opens a request socket in the calling thread's network namespace. */
    public static ConntrackSocket open() {
        return new ConntrackSocket();
    }

    // ------------------------------------------------------------------------------------------ events

    /** Subscribes to the given event types with a {@link #DEFAULT_EVENT_BUFFER} receive buffer. */
    public ConntrackEvents events(Set<ConntrackEvent.Type> types, ConntrackEvents.Listener listener) {
        return events(types, DEFAULT_EVENT_BUFFER, listener);
    }

    /**
     * Subscribes to the given event types in the calling thread's namespace; events are delivered on a
     * platform thread of the subscription. Closed with this socket, or on its own.
     */
    public ConntrackEvents events(Set<ConntrackEvent.Type> types, int receiveBufferBytes,
            ConntrackEvents.Listener listener) {
        ensureOpen();
        ConntrackEvents ev = ConntrackEvents.open(types, receiveBufferBytes, listener);
        subscriptions.removeIf(ConntrackEvents::isClosed);
        subscriptions.add(ev);
        if (closed) {
            ev.close();
            throw new IllegalStateException("conntrack socket closed");
        }
        return ev;
    }

    // ------------------------------------------------------------------------------------------ dump

    /** Every entry of every family; entries that cannot be decoded are skipped (see {@link #dump(Consumer)}). */
    public List<ConntrackEntry> dump() {
        List<ConntrackEntry> out = new ArrayList<>();
        dump(out::add);
        return out;
    }

    /**
     * Streams every entry (IPv4 and IPv6) to the sink on the calling thread, under this socket's lock:
     * the sink must not use this socket.
     */
    public DumpStats dump(Consumer<ConntrackEntry> sink) {
        lock.lock();
        try {
            ensureOpen();
            int s = nextSeq();
            socket.send(ConntrackCodec.dumpRequest(s), "ctnetlink dump");
            long[] counts = new long[2];
            boolean[] state = new boolean[2]; // done, interrupted
            for (int i = 0; i < MAX_DUMP_DATAGRAMS; i++) {
                ensureOpen(); // close() waits for the lock: give it up at the next datagram
                int n = receive("ctnetlink dump");
                try {
                    ConntrackCodec.forEachMessage(socket.data(), n, (type, flags, mseq, buf, off, len) -> {
                        if (mseq != s || state[0]) {
                            return; // stale reply of an earlier request
                        }
                        if ((flags & ConntrackCodec.NLM_F_DUMP_INTR) != 0) {
                            state[1] = true;
                        }
                        if (type == ConntrackCodec.NLMSG_DONE) {
                            state[0] = true;
                            int err = len >= 20 ? ConntrackCodec.le32(buf, off + 16) : 0;
                            if (err < 0) {
                                throw new NativeException("ctnetlink dump", -err);
                            }
                        } else if (type == ConntrackCodec.NLMSG_ERROR) {
                            int err = len >= 20 ? ConntrackCodec.le32(buf, off + 16) : -Errno.EINVAL;
                            throw new NativeException("ctnetlink dump", -err);
                        } else {
                            ConntrackEntry e;
                            try {
                                e = ConntrackCodec.decode(buf, off, len);
                            } catch (ConntrackCodec.DecodeException x) {
                                counts[1]++;
                                return;
                            }
                            counts[0]++;
                            sink.accept(e);
                        }
                    });
                } catch (ConntrackCodec.DecodeException e) {
                    throw new IllegalStateException("malformed ctnetlink dump datagram: " + e.getMessage());
                }
                if (state[0]) {
                    return new DumpStats(counts[0], counts[1], state[1]);
                }
            }
            throw new IllegalStateException("ctnetlink dump did not end after " + MAX_DUMP_DATAGRAMS + " datagrams");
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------------------------------ changes

    /**
     * Fills a view with the entry an item stands for (no allocation needed); false when the item holds
     * none: it is skipped and counted ({@link BatchResult#skipped()}). Runs on whichever thread encodes.
     */
    @FunctionalInterface
    public interface EntryLoader<T> {
        boolean load(T item, ConntrackView into);
    }

    private static final EntryLoader<ConntrackEntry> ENTRIES = (e, v) -> {
        v.load(e);
        return true;
    };

    /**
     * Creates the entries (NLM_F_CREATE|NLM_F_EXCL; NAT set up from the tuples), many per sendto; only
     * the last request of each sendto asks for an ack, so the kernel answers only errors and that ack.
     * Entries already present fail with EEXIST.
     */
    public BatchResult create(List<ConntrackEntry> entries) {
        return batch(ConntrackCodec.Request.CREATE, entries, ENTRIES);
    }

    /**
     * Creates the entries the items stand for, as {@link #create(List)}, encoding each straight from the
     * view the loader fills: no entry object per item (a takeover commits up to a million).
     */
    public <T> BatchResult create(List<T> items, EntryLoader<T> loader) {
        return batch(ConntrackCodec.Request.CREATE, items, loader);
    }

    /** Changes the entries the items stand for, as {@link #update(List)}, encoding each straight from the view. */
    public <T> BatchResult update(List<T> items, EntryLoader<T> loader) {
        return batch(ConntrackCodec.Request.UPDATE, items, loader);
    }

    /** Deletes the entries the items stand for, as {@link #delete(List)}, encoding each straight from the view. */
    public <T> BatchResult delete(List<T> items, EntryLoader<T> loader) {
        return batch(ConntrackCodec.Request.DELETE, items, loader);
    }

    /** Changes existing entries (status, timeout, mark, TCP info); absent ones fail with ENOENT. */
    public BatchResult update(List<ConntrackEntry> entries) {
        return batch(ConntrackCodec.Request.UPDATE, entries, ENTRIES);
    }

    /** Deletes entries by original tuple and zone; absent ones fail with ENOENT. */
    public BatchResult delete(List<ConntrackEntry> entries) {
        return batch(ConntrackCodec.Request.DELETE, entries, ENTRIES);
    }

    /** Deletes one entry; false if it was not there. */
    public boolean delete(ConntrackEntry entry) {
        BatchResult r = delete(List.of(entry));
        if (r.ok()) {
            return true;
        }
        int err = r.failures().getFirst().errno();
        if (err == Errno.ENOENT) {
            return false;
        }
        throw new NativeException("ctnetlink delete " + entry, err);
    }

    /** Deletes every entry of every family in this namespace. */
    public void flush() {
        lock.lock();
        try {
            ensureOpen();
            int s = nextSeq();
            socket.send(ConntrackCodec.flushRequest(s), "ctnetlink flush");
            int err = awaitAck(s, 64);
            if (err != 0) {
                throw new NativeException("ctnetlink flush", err);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The requests of one datagram: items [from, next) of which written were encoded, the last at lastSeq. */
    private record Datagram(int from, int next, int written, int length, int lastSeq) {}

    /**
     * Encodes items from index from into b (cleared first) while a whole request still fits; item i is
     * request base + i; unloadable items are skipped (counted in skipped[0]). The last request asks for an
     * ack: when it (or its error) arrives, every earlier error has too.
     */
    private static <T> Datagram fill(ByteBuffer b, ConntrackCodec.Request request, List<T> items, EntryLoader<T> loader,
            int from, int base, ConntrackView view, int[] skipped) {
        b.clear();
        int lastStart = -1;
        int lastSeq = 0;
        int written = 0;
        int i = from;
        while (i < items.size() && b.remaining() >= ConntrackCodec.MAX_MESSAGE_BYTES) {
            T item = items.get(i);
            if (loader.load(item, view)) {
                lastStart = b.position();
                lastSeq = base + i;
                ConntrackCodec.write(b, request, view, lastSeq, 0);
                written++;
            } else {
                skipped[0]++;
            }
            i++;
        }
        if (lastStart >= 0) {
            b.putShort(lastStart + 6, (short) (b.getShort(lastStart + 6) | ConntrackCodec.NLM_F_ACK));
        }
        return new Datagram(from, i, written, b.position(), lastSeq);
    }

    private <T> BatchResult batch(ConntrackCodec.Request request, List<T> items, EntryLoader<T> loader) {
        int base;
        lock.lock();
        try {
            ensureOpen();
            base = nextSeq();
            seq = base + items.size(); // item i is request base + i
        } finally {
            lock.unlock();
        }
        if (items.size() >= PIPELINE_MIN_ENTRIES) {
            return pipelined(request, items, loader, base);
        }
        String what = "ctnetlink " + request.name().toLowerCase() + " batch";
        List<Failure> failures = new ArrayList<>();
        int[] skipped = new int[1];
        ConntrackView view = new ConntrackView();
        int i = 0;
        while (i < items.size()) {
            lock.lock();
            try {
                ensureOpen();
                Datagram d = fill(batch, request, items, loader, i, base, view, skipped);
                if (d.written() > 0) {
                    socket.sendBatch(d.length(), what);
                    awaitBatchAcks(request, items, loader, d, base, failures);
                }
                i = d.next();
            } finally {
                lock.unlock();
            }
        }
        return new BatchResult(items.size() - skipped[0], skipped[0], failures);
    }

    /**
     * Collects the answers to one datagram's requests: an error for each refused one (added to failures,
     * with the entry the loader gives again) and the ack of the last.
     */
    private <T> void awaitBatchAcks(ConntrackCodec.Request request, List<T> items, EntryLoader<T> loader, Datagram dg,
            int base, List<Failure> failures) {
        boolean[] done = new boolean[1];
        // each error and the ack is one datagram: count + a margin for stale replies bounds the loop
        for (int d = 0; d < dg.written() + 64 && !done[0]; d++) {
            int n = receive("ctnetlink " + request.name().toLowerCase() + " acks");
            try {
                ConntrackCodec.forEachMessage(socket.data(), n, (type, flags, mseq, buf, off, len) -> {
                    if (type != ConntrackCodec.NLMSG_ERROR) {
                        return;
                    }
                    int idx = mseq - base;
                    if (idx < dg.from() || idx >= dg.next()) {
                        return; // stale
                    }
                    int err = len >= 20 ? -ConntrackCodec.le32(buf, off + 16) : Errno.EINVAL;
                    if (err != 0) {
                        ConntrackView v = new ConntrackView();
                        loader.load(items.get(idx), v); // it loaded when it was sent
                        failures.add(new Failure(v.toEntry(), err, idx));
                    }
                    if (mseq == dg.lastSeq()) {
                        done[0] = true;
                    }
                });
            } catch (ConntrackCodec.DecodeException e) {
                throw new IllegalStateException("malformed ctnetlink ack datagram: " + e.getMessage());
            }
        }
        if (!done[0]) {
            throw new IllegalStateException("no ack for the last of " + dg.written() + " ctnetlink requests");
        }
    }

    // ------------------------------------------------------------------------------------------ pipelined batches

    /**
     * From this many entries a batch is encoded on a second thread while this one waits in sendto: the
     * kernel processes a datagram's requests in the sender's system call, so encoding the next datagram
     * meanwhile takes the encoding (about a tenth of a takeover commit) off the critical path on a
     * machine with a second CPU. Below it, one thread is as fast (a thread start costs ~0.1 ms).
     */
    static final int PIPELINE_MIN_ENTRIES = 4096;
    /** Datagrams encoded ahead of the one in the kernel (each of BATCH_BYTES native memory). */
    private static final int PIPELINE_BUFFERS = 2;

    /** One encoded datagram in a buffer; or the encoder's failure; or (END) no more. */
    private record Encoded(int buffer, Datagram datagram, RuntimeException failure) {}

    private static final Encoded END = new Encoded(-1, null, null);

    private <T> BatchResult pipelined(ConntrackCodec.Request request, List<T> items, EntryLoader<T> loader, int base) {
        String what = "ctnetlink " + request.name().toLowerCase() + " batch";
        List<Failure> failures = new ArrayList<>();
        int[] skipped = new int[1];
        try (Arena arena = Arena.ofShared()) {
            ByteBuffer[] buffers = new ByteBuffer[PIPELINE_BUFFERS];
            MemorySegment[] segments = new MemorySegment[PIPELINE_BUFFERS];
            BlockingQueue<Integer> free = new ArrayBlockingQueue<>(PIPELINE_BUFFERS);
            for (int b = 0; b < PIPELINE_BUFFERS; b++) {
                segments[b] = arena.allocate(BATCH_BYTES, 8);
                buffers[b] = segments[b].asByteBuffer().order(ByteOrder.nativeOrder());
                free.add(b);
            }
            BlockingQueue<Encoded> filled = new ArrayBlockingQueue<>(PIPELINE_BUFFERS + 1);
            Thread encoder = Thread.ofPlatform().daemon().name("ctnetlink-encoder")
                    .start(() -> encode(request, items, loader, base, buffers, free, filled, skipped));
            try {
                // every datagram covers at least one item: items.size() + 1 bounds the loop
                for (int d = 0; d <= items.size(); d++) {
                    Encoded e = filled.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    if (e == null) {
                        throw new IllegalStateException(what + ": the encoder gave nothing within " + TIMEOUT_MS + " ms");
                    }
                    if (e.failure() != null) {
                        throw e.failure();
                    }
                    if (e == END) {
                        encoder.join(); // it has ended: skipped[0] is final and visible after the join
                        return new BatchResult(items.size() - skipped[0], skipped[0], failures);
                    }
                    lock.lock();
                    try {
                        ensureOpen(); // close() waits for the lock: give it up at the next datagram
                        socket.sendBatch(segments[e.buffer()], e.datagram().length(), what);
                        awaitBatchAcks(request, items, loader, e.datagram(), base, failures);
                    } finally {
                        lock.unlock();
                    }
                    free.add(e.buffer());
                }
                throw new IllegalStateException(what + ": more datagrams than items");
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(what + " interrupted", x);
            } finally {
                encoder.interrupt();
                joinQuietly(encoder);
            }
        }
    }

    /** The encoder thread: fills free buffers with the items' requests in order, then END (or its failure). */
    private static <T> void encode(ConntrackCodec.Request request, List<T> items, EntryLoader<T> loader, int base,
            ByteBuffer[] buffers, BlockingQueue<Integer> free, BlockingQueue<Encoded> filled, int[] skipped) {
        try {
            ConntrackView view = new ConntrackView();
            int i = 0;
            while (i < items.size()) {
                int buf = free.take();
                Datagram d = fill(buffers[buf], request, items, loader, i, base, view, skipped);
                i = d.next();
                if (d.written() > 0) {
                    filled.put(new Encoded(buf, d, null));
                } else {
                    free.add(buf); // every item of it was skipped
                }
            }
            filled.put(END);
        } catch (InterruptedException e) {
            // the sender stopped (an error, or close): nothing more to encode
        } catch (RuntimeException e) {
            filled.offer(new Encoded(-1, null, e)); // room: at most PIPELINE_BUFFERS datagrams are queued
        }
    }

    private static void joinQuietly(Thread t) {
        boolean interrupted = false;
        for (int tries = 0; tries < 100 && t.isAlive(); tries++) {
            try {
                t.join(100);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the ack of seq s; returns 0 or the errno. */
    private int awaitAck(int s, int maxDatagrams) {
        int[] result = {Integer.MIN_VALUE};
        for (int d = 0; d < maxDatagrams && result[0] == Integer.MIN_VALUE; d++) {
            int n = receive("ctnetlink ack");
            try {
                ConntrackCodec.forEachMessage(socket.data(), n, (type, flags, mseq, buf, off, len) -> {
                    if (type == ConntrackCodec.NLMSG_ERROR && mseq == s) {
                        result[0] = len >= 20 ? -ConntrackCodec.le32(buf, off + 16) : Errno.EINVAL;
                    }
                });
            } catch (ConntrackCodec.DecodeException e) {
                throw new IllegalStateException("malformed ctnetlink ack datagram: " + e.getMessage());
            }
        }
        if (result[0] == Integer.MIN_VALUE) {
            throw new IllegalStateException("no ctnetlink ack for request " + s);
        }
        return result[0];
    }

    /** Blocking receive (bounded by SO_RCVTIMEO); EINTR retried a bounded number of times. */
    private int receive(String what) {
        for (int tries = 0; tries < 100; tries++) {
            int n = socket.receive(0);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n == -Errno.EAGAIN) {
                throw new IllegalStateException(what + ": no reply from the kernel within " + TIMEOUT_MS + " ms");
            }
            if (n < 0) {
                throw new NativeException("recv(" + what + ")", -n);
            }
            return n;
        }
        throw new NativeException("recv(" + what + ")", Errno.EINTR);
    }

    private int nextSeq() {
        seq = (seq + 1) & 0x3fffffff;
        return seq == 0 ? ++seq : seq;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("conntrack socket closed");
        }
    }

    /** Closes the subscriptions opened here and the socket, after the request in flight. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (ConntrackEvents ev : subscriptions) {
            ev.close();
        }
        lock.lock();
        try {
            if (!socketClosed) {
                socketClosed = true;
                socket.close();
            }
        } finally {
            lock.unlock();
        }
    }

    private boolean socketClosed;
}
