package dev.tandem.node.events;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.sqlite.SQLiteConfig;

/**
 * The event log: an embedded SQLite database (WAL mode) with retention.
 *
 * <p>{@link #append} never waits on the disk: it puts the event on a bounded in-memory queue and returns. One
 * writer thread drains the queue in batched transactions and, after each batch, enforces the {@link Retention}.
 * When the queue is full the oldest pending event is dropped to make room (counted by {@link #droppedCount()}).
 * A batch that fails to write is reported to the {@link WriteFailureListener} and counted by
 * {@link #failedCount()}; nothing is ever thrown into the appender.
 *
 * <p>{@link #query} reads what has been written (not what is still queued; {@link #flush} waits for that) and may
 * be called from any thread, also while appends go on. {@link #close()} writes what is queued, then closes.
 *
 * <pre>{@code
 * try (EventStore store = EventStore.open(Path.of("/var/lib/tandem/events.db"), Retention.DEFAULT)) {
 *     store.append(Event.of(System.currentTimeMillis(), "fw1", Event.TRANSITION, "fw1 became ACTIVE: ...", null));
 *     EventPage page = store.query(EventQuery.newest(50));
 * }
 * }</pre>
 */
public final class EventStore implements AutoCloseable {

    /** Told when a batch of events could not be written (they are lost); called on the writer thread. */
    @FunctionalInterface
    public interface WriteFailureListener {
        void onWriteFailure(int lostEvents, Exception cause);
    }

    /**
     * Tuning; {@link #DEFAULTS} suits the daemon.
     *
     * @param queueCapacity  the most events waiting to be written (1..1,000,000)
     * @param maxBatch       the most events written in one transaction (1..10,000)
     * @param closeTimeout   how long {@link #close()} waits for the queue to be written
     * @param onWriteFailure told about failed batches (must not block for long)
     * @param clock          the time retention's maximum age is measured from
     */
    public record Options(int queueCapacity, int maxBatch, Duration closeTimeout,
                          WriteFailureListener onWriteFailure, InstantSource clock) {
        /** 10,000 queued, batches of 500, 10 s to close, failures ignored, the system clock. */
        public static final Options DEFAULTS = new Options(10_000, 500, Duration.ofSeconds(10), (n, e) -> { }, InstantSource.system());

        public Options {
            if (queueCapacity < 1 || queueCapacity > 1_000_000) throw new IllegalArgumentException("queueCapacity must be 1..1000000: " + queueCapacity);
            if (maxBatch < 1 || maxBatch > 10_000) throw new IllegalArgumentException("maxBatch must be 1..10000: " + maxBatch);
            Objects.requireNonNull(closeTimeout, "closeTimeout");
            Objects.requireNonNull(onWriteFailure, "onWriteFailure");
            Objects.requireNonNull(clock, "clock");
        }

        public Options withQueueCapacity(int c) { return new Options(c, maxBatch, closeTimeout, onWriteFailure, clock); }
        public Options withMaxBatch(int b) { return new Options(queueCapacity, b, closeTimeout, onWriteFailure, clock); }
        public Options withOnWriteFailure(WriteFailureListener l) { return new Options(queueCapacity, maxBatch, closeTimeout, l, clock); }
        public Options withClock(InstantSource c) { return new Options(queueCapacity, maxBatch, closeTimeout, onWriteFailure, c); }
        public Options withCloseTimeout(Duration d) { return new Options(queueCapacity, maxBatch, d, onWriteFailure, clock); }
    }

    static final int SCHEMA_VERSION = 1;
    private static final long MAX_FAILURE_BACKOFF_MS = 5_000;

    private final Path file;
    private final Retention retention;
    private final Options options;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Condition idle = lock.newCondition();
    private final ArrayDeque<Event> queue = new ArrayDeque<>();
    private int inFlight;
    private boolean closing;
    private long dropped;
    private long failed;
    private long written;

    private Connection writer;          // writer thread only
    private long rowCount;              // writer thread only (after open)
    private final Connection reader;    // guarded by readLock
    private final ReentrantLock readLock = new ReentrantLock();
    private final Thread writerThread;
    private volatile boolean closed;

    private EventStore(Path file, Retention retention, Options options, Connection writer, Connection reader, long rowCount) {
        this.file = file;
        this.retention = retention;
        this.options = options;
        this.writer = writer;
        this.reader = reader;
        this.rowCount = rowCount;
        this.writerThread = Thread.ofPlatform().daemon().name("tandem-events-writer").unstarted(this::writeLoop);
    }

    /** Opens (creating if needed) the database at {@code file} with the default {@link Options}. */
    public static EventStore open(Path file, Retention retention) throws EventStoreException {
        return open(file, retention, Options.DEFAULTS);
    }

    /**
     * Opens (creating if needed, with its parent folders) the database at {@code file} and starts the writer.
     *
     * @throws EventStoreException naming the file, when it cannot be created or opened, is not an SQLite database,
     *                             is corrupt, or was written by a newer schema
     */
    public static EventStore open(Path file, Retention retention, Options options) throws EventStoreException {
        Objects.requireNonNull(retention, "retention");
        Objects.requireNonNull(options, "options");
        Path f = file.toAbsolutePath().normalize();
        if (Files.isDirectory(f)) throw new EventStoreException(f, "is a folder, not a database file", null);
        try {
            if (f.getParent() != null) Files.createDirectories(f.getParent());
        } catch (IOException e) {
            throw new EventStoreException(f, "cannot create its folder: " + e, e);
        }
        if (Files.exists(f) && !Files.isReadable(f)) throw new EventStoreException(f, "is not readable", null);
        Connection w = null;
        Connection r = null;
        try {
            w = connect(f);
            String mode = single(w, "PRAGMA journal_mode=WAL");
            if (!"wal".equalsIgnoreCase(mode)) throw new EventStoreException(f, "cannot switch to WAL journal mode (got " + mode + ")", null);
            String check = single(w, "PRAGMA quick_check(1)");
            if (!"ok".equalsIgnoreCase(check)) throw new EventStoreException(f, "is corrupt (quick_check: " + check + ")", null);
            int version = Integer.parseInt(single(w, "PRAGMA user_version"));
            if (version > SCHEMA_VERSION) {
                throw new EventStoreException(f, "has schema version " + version + ", newer than this Tandem understands (" + SCHEMA_VERSION + ")", null);
            }
            try (Statement s = w.createStatement()) {
                s.executeUpdate("""
                        CREATE TABLE IF NOT EXISTS events(
                          id INTEGER PRIMARY KEY AUTOINCREMENT,
                          time INTEGER NOT NULL,
                          node TEXT NOT NULL,
                          kind TEXT NOT NULL,
                          text TEXT NOT NULL,
                          actor TEXT)""");
                s.executeUpdate("CREATE INDEX IF NOT EXISTS events_time ON events(time, id)");
                s.executeUpdate("CREATE INDEX IF NOT EXISTS events_kind_time ON events(kind, time, id)");
                s.executeUpdate("PRAGMA user_version=" + SCHEMA_VERSION);
            }
            long count = Long.parseLong(single(w, "SELECT count(*) FROM events"));
            r = connect(f);
            EventStore store = new EventStore(f, retention, options, w, r, count);
            store.writerThread.start();
            return store;
        } catch (SQLException | RuntimeException e) {
            closeQuietly(w);
            closeQuietly(r);
            throw new EventStoreException(f, describe(e), e);
        } catch (EventStoreException e) {
            closeQuietly(w);
            closeQuietly(r);
            throw e;
        }
    }

    /** The database file. */
    public Path file() {
        return file;
    }

    /**
     * Queues an event for writing; returns at once. When {@code queueCapacity} events are already waiting, the
     * oldest of them is dropped to make room.
     *
     * @return {@code false} only when the store is closed (the event is then dropped)
     */
    public boolean append(Event event) {
        Objects.requireNonNull(event, "event");
        lock.lock();
        try {
            if (closing) {
                dropped++;
                return false;
            }
            if (queue.size() >= options.queueCapacity()) {
                queue.pollFirst();
                dropped++;
            }
            queue.addLast(event);
            notEmpty.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until everything appended so far has been written (or failed).
     *
     * @return {@code false} if that did not happen within {@code timeout}
     */
    public boolean flush(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (!queue.isEmpty() || inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !writerThread.isAlive()) return queue.isEmpty() && inFlight == 0;
                idle.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * One page of written events matching {@code query}, newest first.
     *
     * @throws EventStoreException when the database cannot be read
     * @throws IllegalStateException when the store is closed
     */
    public EventPage query(EventQuery query) throws EventStoreException {
        Objects.requireNonNull(query, "query");
        StringBuilder sql = new StringBuilder("SELECT id, time, node, kind, text, actor FROM events WHERE 1=1");
        List<Object> args = new ArrayList<>();
        if (query.sinceMillis() != null) { sql.append(" AND time >= ?"); args.add(query.sinceMillis()); }
        if (query.untilMillis() != null) { sql.append(" AND time < ?"); args.add(query.untilMillis()); }
        if (query.kind() != null) { sql.append(" AND kind = ?"); args.add(query.kind()); }
        if (query.node() != null) { sql.append(" AND node = ?"); args.add(query.node()); }
        if (query.cursor() != null) {
            EventQuery.Cursor c = EventQuery.Cursor.parse(query.cursor());
            sql.append(" AND (time < ? OR (time = ? AND id < ?))");
            args.add(c.timeMillis());
            args.add(c.timeMillis());
            args.add(c.id());
        }
        sql.append(" ORDER BY time DESC, id DESC LIMIT ").append(query.limit() + 1);
        readLock.lock();
        try {
            if (closed) throw new IllegalStateException("event store " + file + " is closed");
            List<Event> out = new ArrayList<>(Math.min(query.limit(), 64));
            boolean more = false;
            try (PreparedStatement ps = reader.prepareStatement(sql.toString())) {
                for (int i = 0; i < args.size(); i++) ps.setObject(i + 1, args.get(i));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (out.size() == query.limit()) {
                            more = true;
                            break;
                        }
                        out.add(new Event(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6)));
                    }
                }
            }
            String next = null;
            if (more) {
                Event last = out.getLast();
                next = new EventQuery.Cursor(last.timeMillis(), last.id()).format();
            }
            return new EventPage(out, next);
        } catch (SQLException e) {
            throw new EventStoreException(file, "query failed: " + describe(e), e);
        } finally {
            readLock.unlock();
        }
    }

    /** Events dropped without being written: the queue was full, or they came after {@link #close()}. */
    public long droppedCount() {
        lock.lock();
        try { return dropped; } finally { lock.unlock(); }
    }

    /** Events lost because their batch failed to write. */
    public long failedCount() {
        lock.lock();
        try { return failed; } finally { lock.unlock(); }
    }

    /** Events written since open. */
    public long writtenCount() {
        lock.lock();
        try { return written; } finally { lock.unlock(); }
    }

    /** Events waiting to be written. */
    public int pendingCount() {
        lock.lock();
        try { return queue.size() + inFlight; } finally { lock.unlock(); }
    }

    /**
     * Writes what is queued (waiting at most {@link Options#closeTimeout()}; what is still queued then is dropped
     * and counted), stops the writer and closes the database. Idempotent.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            notEmpty.signalAll();
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        try {
            writerThread.join(options.closeTimeout());
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (writerThread.isAlive()) {
            writerThread.interrupt();
            try {
                writerThread.join(2_000);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        lock.lock();
        try {
            dropped += queue.size();
            queue.clear();
        } finally {
            lock.unlock();
        }
        readLock.lock();
        try {
            if (!closed) {
                closed = true;
                closeQuietly(reader);
                if (!writerThread.isAlive()) closeQuietly(writer);
            }
        } finally {
            readLock.unlock();
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    // ---- writer thread ----

    private void writeLoop() {
        long backoffMs = 0;
        List<Event> batch = new ArrayList<>(options.maxBatch());
        while (true) {
            lock.lock();
            try {
                inFlight = 0;
                if (queue.isEmpty()) idle.signalAll();
                while (queue.isEmpty() && !closing) notEmpty.awaitUninterruptibly();
                if (queue.isEmpty()) {
                    idle.signalAll();
                    break;
                }
                batch.clear();
                while (batch.size() < options.maxBatch() && !queue.isEmpty()) batch.add(queue.pollFirst());
                inFlight = batch.size();
            } finally {
                lock.unlock();
            }
            try {
                writeBatch(batch);
                backoffMs = 0;
                lock.lock();
                try { written += batch.size(); } finally { lock.unlock(); }
            } catch (Exception e) {
                lock.lock();
                try { failed += batch.size(); } finally { lock.unlock(); }
                Exception reported = e instanceof SQLException s ? new EventStoreException(file, "write failed: " + describe(s), s) : e;
                try {
                    options.onWriteFailure().onWriteFailure(batch.size(), reported);
                } catch (RuntimeException ignored) {
                    // a listener's fault must not stop the writer
                }
                // reconnect on the next batch; wait a little so a broken disk is not hammered
                closeQuietly(writer);
                writer = null;
                backoffMs = Math.min(MAX_FAILURE_BACKOFF_MS, backoffMs == 0 ? 100 : backoffMs * 2);
                if (!closingNow()) {
                    try {
                        Thread.sleep(backoffMs);
                    } catch (InterruptedException ie) {
                        break;
                    }
                }
            }
            if (Thread.currentThread().isInterrupted()) break;
        }
        lock.lock();
        try {
            inFlight = 0;
            idle.signalAll();
        } finally {
            lock.unlock();
        }
        closeQuietly(writer);
    }

    private boolean closingNow() {
        lock.lock();
        try { return closing; } finally { lock.unlock(); }
    }

    private void writeBatch(List<Event> batch) throws SQLException {
        if (writer == null) {
            writer = connect(file);
            rowCount = Long.parseLong(single(writer, "SELECT count(*) FROM events"));
        }
        Connection c = writer;
        c.setAutoCommit(false);
        try {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO events(time, node, kind, text, actor) VALUES (?, ?, ?, ?, ?)")) {
                for (Event e : batch) {
                    ps.setLong(1, e.timeMillis());
                    ps.setString(2, e.node());
                    ps.setString(3, e.kind());
                    ps.setString(4, e.text());
                    ps.setString(5, e.actor());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            long count = rowCount + batch.size();
            long oldest = options.clock().millis() - retention.maxAge().toMillis();
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM events WHERE time < ?")) {
                ps.setLong(1, oldest);
                count -= ps.executeUpdate();
            }
            if (count > retention.maxCount()) {
                try (PreparedStatement ps = c.prepareStatement(
                        "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY time ASC, id ASC LIMIT ?)")) {
                    ps.setLong(1, count - retention.maxCount());
                    count -= ps.executeUpdate();
                }
            }
            c.commit();
            rowCount = count;
        } catch (SQLException | RuntimeException e) {
            try { c.rollback(); } catch (SQLException ignored) { /* reported below */ }
            throw e;
        } finally {
            try { c.setAutoCommit(true); } catch (SQLException ignored) { /* connection is dropped on failure */ }
        }
    }

    // ---- helpers ----

    private static Connection connect(Path f) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(5_000);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        return config.createConnection("jdbc:sqlite:" + f);
    }

    private static String single(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private static void closeQuietly(Connection c) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException ignored) {
            // closing is best effort
        }
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    /** Events in the queue, not counting the batch being written (tests). */
    int queuedCount() {
        lock.lock();
        try { return queue.size(); } finally { lock.unlock(); }
    }
}
