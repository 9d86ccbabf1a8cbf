package dev.tandem.node.alerts;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Delivers alerts to sinks off the caller's thread.
 *
 * <p>Each sink has its own bounded queue and its own worker thread, so a slow or dead sink delays nobody else.
 * {@link #dispatch} only puts the alert on each queue and returns; it never blocks on delivery and never throws
 * for a delivery problem. A worker tries an alert up to its {@link RetryPolicy}'s attempts with exponential
 * backoff; what it gives up on, and what is dropped because a queue was full (the oldest waiting alert makes room),
 * is reported to the {@link FailureListener} on the worker's thread.
 *
 * <pre>{@code
 * AlertDispatcher alerts = AlertDispatcher.builder()
 *     .sink(new WebhookSink(URI.create("https://ops.example/hook"), Duration.ofSeconds(5)))
 *     .sink(new NotifyScriptSink(Path.of("/etc/tandem/notify.sh"), Duration.ofSeconds(10)), RetryPolicy.ONCE)
 *     .onFailure(f -> events.append(...f.describe()...))
 *     .build();
 * alerts.dispatch(new Alert(Instant.now(), "fw1", Alert.Kind.INSTANCE, "VG1", "MASTER", 100, "fw1 became ACTIVE: ..."));
 * }</pre>
 */
public final class AlertDispatcher implements AutoCloseable {

    /** Told about alerts a sink gave up on. Called on the sink's worker thread; must not block for long. */
    @FunctionalInterface
    public interface FailureListener {
        void onFailure(DeliveryFailure failure);
    }

    /**
     * Counters of one sink.
     *
     * @param sink      the sink's name
     * @param delivered alerts delivered
     * @param failed    alerts given up on after their attempts (or when closing)
     * @param dropped   alerts dropped because the queue was full, or dispatched after close
     * @param queued    alerts waiting now (including the one being delivered)
     */
    public record SinkStats(String sink, long delivered, long failed, long dropped, int queued) { }

    /** Default bound of each sink's queue. */
    public static final int DEFAULT_QUEUE_CAPACITY = 1000;

    private final List<Worker> workers;
    private final FailureListener listener;
    private volatile boolean closed;

    private AlertDispatcher(Builder b) {
        this.listener = b.listener;
        List<Worker> ws = new ArrayList<>();
        for (int i = 0; i < b.sinks.size(); i++) ws.add(new Worker(i, b.sinks.get(i), b.policies.get(i), b.queueCapacity));
        this.workers = List.copyOf(ws);
        for (Worker w : workers) w.thread.start();
    }

    /** A builder; add at least zero sinks (a dispatcher without sinks accepts and ignores alerts). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Queues {@code alert} for every sink and returns at once. After {@link #close()} the alert is dropped
     * (counted in {@link SinkStats#dropped()}).
     */
    public void dispatch(Alert alert) {
        Objects.requireNonNull(alert, "alert");
        for (Worker w : workers) w.offer(alert);
    }

    /** Counters per sink, in the order the sinks were added. */
    public List<SinkStats> stats() {
        List<SinkStats> out = new ArrayList<>(workers.size());
        for (Worker w : workers) out.add(w.stats());
        return out;
    }

    /** Closes, waiting at most 5 s for queued alerts to be delivered. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /**
     * Stops taking alerts, waits at most {@code timeout} for the queues to be delivered (retries included), then
     * interrupts what is still running; every alert left undelivered is reported as a failure. Idempotent.
     */
    public void close(Duration timeout) {
        closed = true;
        for (Worker w : workers) w.startClosing();
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        for (Worker w : workers) {
            long left = Math.max(0, deadline - System.nanoTime());
            try {
                if (left > 0) w.thread.join(Duration.ofNanos(left));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (Worker w : workers) if (w.thread.isAlive()) w.thread.interrupt();
        for (Worker w : workers) {
            try {
                w.thread.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                interrupted = true;
            }
            w.failLeftovers();
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Whether {@link #close} was called. */
    public boolean isClosed() {
        return closed;
    }

    private void report(DeliveryFailure f) {
        try {
            listener.onFailure(f);
        } catch (RuntimeException ignored) {
            // a listener's fault must not stop a worker
        }
    }

    private final class Worker {
        final AlertSink sink;
        final RetryPolicy policy;
        final int capacity;
        final Thread thread;
        final ReentrantLock lock = new ReentrantLock();
        final Condition changed = lock.newCondition();
        final ArrayDeque<Alert> queue = new ArrayDeque<>();
        boolean closing;
        boolean busy;
        long delivered;
        long failed;
        long dropped;
        int droppedUnreported;
        Alert lastDropped;

        Worker(int index, AlertSink sink, RetryPolicy policy, int capacity) {
            this.sink = sink;
            this.policy = policy;
            this.capacity = capacity;
            this.thread = Thread.ofPlatform().daemon().name("tandem-alerts-" + index).unstarted(this::run);
        }

        void offer(Alert a) {
            lock.lock();
            try {
                if (closing) {
                    dropped++;
                    return;
                }
                if (queue.size() >= capacity) {
                    queue.pollFirst();
                    dropped++;
                    droppedUnreported++;
                    lastDropped = a;
                }
                queue.addLast(a);
                changed.signal();
            } finally {
                lock.unlock();
            }
        }

        void startClosing() {
            lock.lock();
            try {
                closing = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        SinkStats stats() {
            lock.lock();
            try {
                return new SinkStats(sink.name(), delivered, failed, dropped, queue.size() + (busy ? 1 : 0));
            } finally {
                lock.unlock();
            }
        }

        void run() {
            while (true) {
                Alert next;
                int drops;
                Alert dropAlert;
                lock.lock();
                try {
                    busy = false;
                    while (queue.isEmpty() && droppedUnreported == 0 && !closing) changed.awaitUninterruptibly();
                    drops = droppedUnreported;
                    dropAlert = lastDropped;
                    droppedUnreported = 0;
                    lastDropped = null;
                    next = queue.pollFirst();
                    busy = next != null;
                } finally {
                    lock.unlock();
                }
                if (drops > 0) {
                    report(new DeliveryFailure(sink.name(), dropAlert, 0,
                            "queue full (" + capacity + "): dropped the " + drops + " oldest waiting alert(s)", null));
                }
                if (next == null) {
                    if (closingNow()) return;
                    continue;
                }
                if (!deliver(next)) return; // interrupted: the dispatcher is closing
            }
        }

        /** @return false when interrupted (the current alert is reported as failed) */
        private boolean deliver(Alert a) {
            Exception last = null;
            for (int attempt = 1; attempt <= policy.maxAttempts(); attempt++) {
                try {
                    sink.deliver(a);
                    count(true);
                    return true;
                } catch (InterruptedException e) {
                    fail(a, attempt, "dispatcher closed during delivery", e);
                    return false;
                } catch (Exception e) {
                    last = e;
                }
                if (attempt < policy.maxAttempts()) {
                    try {
                        Thread.sleep(policy.backoffAfter(attempt));
                    } catch (InterruptedException e) {
                        fail(a, attempt, "dispatcher closed before a retry; last error: " + message(last), last);
                        return false;
                    }
                }
            }
            fail(a, policy.maxAttempts(), "failed " + policy.maxAttempts() + " time(s); last error: " + message(last), last);
            return true;
        }

        private void fail(Alert a, int attempts, String reason, Throwable cause) {
            count(false);
            report(new DeliveryFailure(sink.name(), a, attempts, reason, cause));
        }

        private void count(boolean ok) {
            lock.lock();
            try {
                if (ok) delivered++; else failed++;
                busy = false;
            } finally {
                lock.unlock();
            }
        }

        private boolean closingNow() {
            lock.lock();
            try { return closing; } finally { lock.unlock(); }
        }

        /** After the worker stopped (or would not): reports what it never got to. Runs on the closing thread. */
        void failLeftovers() {
            List<Alert> left;
            lock.lock();
            try {
                left = new ArrayList<>(queue);
                queue.clear();
                failed += left.size();
            } finally {
                lock.unlock();
            }
            for (Alert a : left) report(new DeliveryFailure(sink.name(), a, 0, "dispatcher closed before delivery", null));
        }
    }

    private static String message(Throwable t) {
        if (t == null) return "unknown";
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }

    /** Builds an {@link AlertDispatcher}. */
    public static final class Builder {
        private final List<AlertSink> sinks = new ArrayList<>();
        private final List<RetryPolicy> policies = new ArrayList<>();
        private int queueCapacity = DEFAULT_QUEUE_CAPACITY;
        private FailureListener listener = f -> { };

        private Builder() { }

        /** Adds a sink with {@link RetryPolicy#DEFAULT}. */
        public Builder sink(AlertSink sink) {
            return sink(sink, RetryPolicy.DEFAULT);
        }

        /** Adds a sink with its own retry policy. */
        public Builder sink(AlertSink sink, RetryPolicy policy) {
            sinks.add(Objects.requireNonNull(sink, "sink"));
            policies.add(Objects.requireNonNull(policy, "policy"));
            return this;
        }

        /** The bound of each sink's queue, 1..100,000 (default {@value AlertDispatcher#DEFAULT_QUEUE_CAPACITY}). */
        public Builder queueCapacity(int capacity) {
            if (capacity < 1 || capacity > 100_000) throw new IllegalArgumentException("queueCapacity must be 1..100000: " + capacity);
            this.queueCapacity = capacity;
            return this;
        }

        /** Who hears about undelivered alerts (default: nobody). */
        public Builder onFailure(FailureListener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        /** Starts one worker thread per sink. */
        public AlertDispatcher build() {
            return new AlertDispatcher(this);
        }
    }
}
