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

    /** One entry the kernel refused, with the errno it gave (EEXIST, ENOENT, EINVAL, EBUSY, ENOMEM...). */
    public record Failure(ConntrackEntry entry, int errno) {
        public String reason() {
            return Errno.name(errno) + " (" + Errno.describe(errno) + ")";
        }

        @Override
        public String toString() {
            return reason() + ": " + entry;
        }
    }

    /** Outcome of a batch: how many entries were sent and which of them failed. */
    public record BatchResult(int attempted, List<Failure> failures) {
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
     * Creates the entries (NLM_F_CREATE|NLM_F_EXCL; NAT set up from the tuples), many per sendto; only
     * the last request of each sendto asks for an ack, so the kernel answers only errors and that ack.
     * Entries already present fail with EEXIST.
     */
    public BatchResult create(List<ConntrackEntry> entries) {
        return batch(ConntrackCodec.Request.CREATE, entries);
    }

    /** Changes existing entries (status, timeout, mark, TCP info); absent ones fail with ENOENT. */
    public BatchResult update(List<ConntrackEntry> entries) {
        return batch(ConntrackCodec.Request.UPDATE, entries);
    }

    /** Deletes entries by original tuple and zone; absent ones fail with ENOENT. */
    public BatchResult delete(List<ConntrackEntry> entries) {
        return batch(ConntrackCodec.Request.DELETE, entries);
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

    private BatchResult batch(ConntrackCodec.Request request, List<ConntrackEntry> entries) {
        if (entries.size() >= PIPELINE_MIN_ENTRIES) {
            return pipelined(request, entries);
        }
        List<Failure> failures = new ArrayList<>();
        int i = 0;
        while (i < entries.size()) {
            lock.lock();
            try {
                ensureOpen();
                i = sendBatch(request, entries, i, failures);
            } finally {
                lock.unlock();
            }
        }
        return new BatchResult(entries.size(), failures);
    }

    /** Encodes entries from index from into one datagram, sends it, collects errors; returns the next index. */
    private int sendBatch(ConntrackCodec.Request request, List<ConntrackEntry> entries, int from, List<Failure> failures) {
        batch.clear();
        int base = nextSeq();
        int lastStart = 0;
        int i = from;
        while (i < entries.size() && batch.remaining() >= ConntrackCodec.MAX_MESSAGE_BYTES) {
            lastStart = batch.position();
            ConntrackCodec.write(batch, request, entries.get(i), base + (i - from), 0);
            i++;
        }
        int count = i - from;
        // the last request asks for an ack: when it (or its error) arrives, every earlier error has too
        batch.putShort(lastStart + 6, (short) (batch.getShort(lastStart + 6) | ConntrackCodec.NLM_F_ACK));
        seq = base + count - 1;
        socket.sendBatch(batch.position(), "ctnetlink " + request.name().toLowerCase() + " batch");
        awaitBatchAcks(request, entries, from, count, base, failures);
        return i;
    }

    /**
     * Collects the answers to count requests for entries[from ...], sent with the sequence numbers base,
     * base + 1, ...: an error for each refused one (added to failures) and the ack of the last.
     */
    private void awaitBatchAcks(ConntrackCodec.Request request, List<ConntrackEntry> entries, int from, int count, int base,
            List<Failure> failures) {
        int lastSeq = base + count - 1;
        boolean[] done = new boolean[1];
        // each error and the ack is one datagram: count + a margin for stale replies bounds the loop
        for (int d = 0; d < count + 64 && !done[0]; d++) {
            int n = receive("ctnetlink " + request.name().toLowerCase() + " acks");
            try {
                ConntrackCodec.forEachMessage(socket.data(), n, (type, flags, mseq, buf, off, len) -> {
                    if (type != ConntrackCodec.NLMSG_ERROR) {
                        return;
                    }
                    int idx = mseq - base;
                    if (idx < 0 || idx >= count) {
                        return; // stale
                    }
                    int err = len >= 20 ? -ConntrackCodec.le32(buf, off + 16) : Errno.EINVAL;
                    if (err != 0) {
                        failures.add(new Failure(entries.get(from + idx), err));
                    }
                    if (mseq == lastSeq) {
                        done[0] = true;
                    }
                });
            } catch (ConntrackCodec.DecodeException e) {
                throw new IllegalStateException("malformed ctnetlink ack datagram: " + e.getMessage());
            }
        }
        if (!done[0]) {
            throw new IllegalStateException("no ack for the last of " + count + " ctnetlink requests");
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

    /** One encoded datagram: its buffer, the entries it holds, its length; or the encoder's failure. */
    private record Encoded(int buffer, int from, int count, int length, RuntimeException failure) {}

    private static final Encoded END = new Encoded(-1, 0, 0, 0, null);

    private BatchResult pipelined(ConntrackCodec.Request request, List<ConntrackEntry> entries) {
        String what = "ctnetlink " + request.name().toLowerCase() + " batch";
        int base;
        lock.lock();
        try {
            ensureOpen();
            base = nextSeq();
            seq = base + entries.size() - 1; // entry i is request base + i
        } finally {
            lock.unlock();
        }
        List<Failure> failures = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buffers = new MemorySegment[PIPELINE_BUFFERS];
            BlockingQueue<Integer> free = new ArrayBlockingQueue<>(PIPELINE_BUFFERS);
            for (int b = 0; b < PIPELINE_BUFFERS; b++) {
                buffers[b] = arena.allocate(BATCH_BYTES, 8);
                free.add(b);
            }
            BlockingQueue<Encoded> filled = new ArrayBlockingQueue<>(PIPELINE_BUFFERS + 1);
            Thread encoder = Thread.ofPlatform().daemon().name("ctnetlink-encoder")
                    .start(() -> encode(request, entries, base, buffers, free, filled));
            try {
                // every datagram holds at least one entry: entries.size() + 1 bounds the loop
                for (int d = 0; d <= entries.size(); d++) {
                    Encoded e = filled.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    if (e == null) {
                        throw new IllegalStateException(what + ": the encoder gave nothing within " + TIMEOUT_MS + " ms");
                    }
                    if (e.failure() != null) {
                        throw e.failure();
                    }
                    if (e == END) {
                        return new BatchResult(entries.size(), failures);
                    }
                    lock.lock();
                    try {
                        ensureOpen(); // close() waits for the lock: give it up at the next datagram
                        socket.sendBatch(buffers[e.buffer()], e.length(), what);
                        awaitBatchAcks(request, entries, e.from(), e.count(), base + e.from(), failures);
                    } finally {
                        lock.unlock();
                    }
                    free.add(e.buffer());
                }
                throw new IllegalStateException(what + ": more datagrams than entries");
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(what + " interrupted", x);
            } finally {
                encoder.interrupt();
                joinQuietly(encoder);
            }
        }
    }

    /** The encoder thread: fills free buffers with the entries' requests in order, then END (or its failure). */
    private static void encode(ConntrackCodec.Request request, List<ConntrackEntry> entries, int base, MemorySegment[] buffers,
            BlockingQueue<Integer> free, BlockingQueue<Encoded> filled) {
        try {
            int i = 0;
            while (i < entries.size()) {
                int buf = free.take();
                ByteBuffer b = buffers[buf].asByteBuffer().order(ByteOrder.nativeOrder());
                int from = i;
                int lastStart = 0;
                while (i < entries.size() && b.remaining() >= ConntrackCodec.MAX_MESSAGE_BYTES) {
                    lastStart = b.position();
                    ConntrackCodec.write(b, request, entries.get(i), base + i, 0);
                    i++;
                }
                // the last request asks for an ack: when it (or its error) arrives, every earlier error has too
                b.putShort(lastStart + 6, (short) (b.getShort(lastStart + 6) | ConntrackCodec.NLM_F_ACK));
                filled.put(new Encoded(buf, from, i - from, b.position(), null));
            }
            filled.put(END);
        } catch (InterruptedException e) {
            // the sender stopped (an error, or close): nothing more to encode
        } catch (RuntimeException e) {
            filled.offer(new Encoded(-1, 0, 0, 0, e)); // room: at most PIPELINE_BUFFERS datagrams are queued
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
        if (t.isAlive()) {
            throw new IllegalStateException("the ctnetlink encoder did not stop");
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
