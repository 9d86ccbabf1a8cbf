package dev.tandem.node.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AlertDispatcherTest {

    static final RetryPolicy FAST = new RetryPolicy(3, Duration.ofMillis(20), Duration.ofMillis(100));

    private HttpServer server;
    private final BlockingQueue<String> bodies = new LinkedBlockingQueue<>();
    private final AtomicInteger requests = new AtomicInteger();
    private final List<DeliveryFailure> failures = new CopyOnWriteArrayList<>();

    static Alert alert(String state) {
        return new Alert(Instant.parse("2026-11-23T12:00:00.123Z"), "fw1", Alert.Kind.INSTANCE, "VG1", state, 100,
                "fw1 became ACTIVE: fw2 silent for 1.02 s \"quoted\"\nsecond line");
    }

    /** A webhook server answering request n (1-based) with status(n) after sleepMs. */
    private URI startServer(IntUnaryOperator status, long sleepMs) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/hook", ex -> {
            int n = requests.incrementAndGet();
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            try {
                Thread.sleep(sleepMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            int code = status.applyAsInt(n);
            if (code == 200) bodies.add(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Content-Type") + " " + body);
            ex.sendResponseHeaders(code, -1);
            ex.close();
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
    }

    @AfterEach
    void stop() {
        if (server != null) server.stop(0);
    }

    @Test
    void webhookPostsJson() throws Exception {
        URI url = startServer(n -> 200, 0);
        try (AlertDispatcher d = AlertDispatcher.builder().sink(new WebhookSink(url, Duration.ofSeconds(2)), FAST)
                .onFailure(failures::add).build()) {
            d.dispatch(alert("MASTER"));
            String got = bodies.poll(5, TimeUnit.SECONDS);
            assertThat(got).startsWith("POST application/json; charset=utf-8 {");
            assertThat(got).contains("\"node\":\"fw1\"", "\"kind\":\"INSTANCE\"", "\"name\":\"VG1\"", "\"state\":\"MASTER\"",
                    "\"priority\":100", "\"time\":\"2026-11-23T12:00:00.123Z\"", "\"timeMillis\":1795435200123",
                    "\"text\":\"fw1 became ACTIVE: fw2 silent for 1.02 s \\\"quoted\\\"\\nsecond line\"");
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void webhookRetriesAfterAServerError() throws Exception {
        URI url = startServer(n -> n == 1 ? 500 : 200, 0);
        try (AlertDispatcher d = AlertDispatcher.builder().sink(new WebhookSink(url, Duration.ofSeconds(2)), FAST)
                .onFailure(failures::add).build()) {
            d.dispatch(alert("BACKUP"));
            assertThat(bodies.poll(5, TimeUnit.SECONDS)).contains("\"state\":\"BACKUP\"");
            assertThat(requests.get()).isEqualTo(2);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (d.stats().getFirst().delivered() == 0 && System.nanoTime() < until) Thread.sleep(5);
            assertThat(d.stats().getFirst().delivered()).isEqualTo(1);
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void webhookGivesUpAfterTheLastAttemptAndSaysWhy() throws Exception {
        URI url = startServer(n -> 503, 0);
        CountDownLatch failed = new CountDownLatch(1);
        try (AlertDispatcher d = AlertDispatcher.builder().sink(new WebhookSink(url, Duration.ofSeconds(2)), FAST)
                .onFailure(f -> { failures.add(f); failed.countDown(); }).build()) {
            d.dispatch(alert("FAULT"));
            assertThat(failed.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(requests.get()).isEqualTo(3);
        }
        DeliveryFailure f = failures.getFirst();
        assertThat(failures).hasSize(1);
        assertThat(f.attempts()).isEqualTo(3);
        assertThat(f.describe()).contains("fw1: INSTANCE VG1 is FAULT (priority 100)", "webhook http://127.0.0.1", "HTTP 503", "3 time(s)");
    }

    @Test
    void aSlowWebhookDoesNotHoldTheCaller() throws Exception {
        URI url = startServer(n -> 200, 2000);
        try (AlertDispatcher d = AlertDispatcher.builder().sink(new WebhookSink(url, Duration.ofSeconds(5)), FAST)
                .onFailure(failures::add).build()) {
            d.dispatch(alert("BACKUP")); // warm up the class loading of the caller's path
            long start = System.nanoTime();
            d.dispatch(alert("MASTER"));
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(tookMs).isLessThan(50);
            assertThat(bodies.poll(6, TimeUnit.SECONDS)).contains("BACKUP");
            assertThat(bodies.poll(6, TimeUnit.SECONDS)).contains("MASTER");
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void aFullQueueDropsTheOldestAndReportsIt() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> delivered = new CopyOnWriteArrayList<>();
        AlertSink stuck = new AlertSink() {
            @Override public String name() { return "stuck"; }
            @Override public void deliver(Alert a) throws InterruptedException {
                started.countDown();
                release.await();
                delivered.add(a.state());
            }
        };
        CountDownLatch reported = new CountDownLatch(1);
        try (AlertDispatcher d = AlertDispatcher.builder().sink(stuck, FAST).queueCapacity(2)
                .onFailure(f -> { failures.add(f); reported.countDown(); }).build()) {
            d.dispatch(alert("S0"));
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            for (int i = 1; i <= 4; i++) d.dispatch(alert("S" + i));
            assertThat(d.stats().getFirst().dropped()).isEqualTo(2);
            assertThat(d.stats().getFirst().queued()).isEqualTo(3);
            release.countDown();
            assertThat(reported.await(5, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(delivered).containsExactly("S0", "S3", "S4");
        assertThat(failures).hasSize(1);
        assertThat(failures.getFirst().reason()).contains("queue full", "2 oldest");
    }

    @Test
    void aThrowingListenerAndAFailingSinkDisturbNeitherTheCallerNorOtherSinks() throws Exception {
        List<String> good = new CopyOnWriteArrayList<>();
        AlertSink broken = new AlertSink() {
            @Override public String name() { return "broken"; }
            @Override public void deliver(Alert a) { throw new IllegalStateException("boom"); }
        };
        AlertSink ok = new AlertSink() {
            @Override public String name() { return "ok"; }
            @Override public void deliver(Alert a) { good.add(a.state()); }
        };
        AtomicInteger calls = new AtomicInteger();
        try (AlertDispatcher d = AlertDispatcher.builder().sink(broken, RetryPolicy.ONCE).sink(ok)
                .onFailure(f -> { calls.incrementAndGet(); throw new RuntimeException("listener bug"); }).build()) {
            d.dispatch(alert("A"));
            d.dispatch(alert("B"));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while ((calls.get() < 2 || good.size() < 2) && System.nanoTime() < until) Thread.sleep(5);
        }
        assertThat(calls.get()).isEqualTo(2);
        assertThat(good).containsExactly("A", "B");
    }

    @Test
    void closeReportsWhatWasNeverDeliveredAndRefusesLaterAlerts() {
        AlertSink hang = new AlertSink() {
            @Override public String name() { return "hang"; }
            @Override public void deliver(Alert a) throws InterruptedException { Thread.sleep(60_000); }
        };
        AlertDispatcher d = AlertDispatcher.builder().sink(hang).onFailure(failures::add).build();
        d.dispatch(alert("A"));
        d.dispatch(alert("B"));
        long start = System.nanoTime();
        d.close(Duration.ofMillis(200));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(failures).extracting(f -> f.alert().state()).containsExactlyInAnyOrder("A", "B");
        assertThat(failures).allSatisfy(f -> assertThat(f.reason()).contains("closed"));
        d.dispatch(alert("C"));
        assertThat(d.stats().getFirst().dropped()).isEqualTo(1);
        assertThat(d.isClosed()).isTrue();
    }

    @Test
    void retryBackoffDoublesUpToTheMaximum() {
        RetryPolicy p = new RetryPolicy(6, Duration.ofSeconds(1), Duration.ofSeconds(5));
        assertThat(List.of(p.backoffAfter(1), p.backoffAfter(2), p.backoffAfter(3), p.backoffAfter(4)))
                .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(5));
        assertThatThrownBy(() -> new RetryPolicy(0, Duration.ZERO, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetryPolicy(2, Duration.ofSeconds(2), Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void alertsAreValidated() {
        Instant t = Instant.now();
        assertThatThrownBy(() -> new Alert(t, "fw1", Alert.Kind.GROUP, "G", "MASTER; rm -rf /", 1, "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("state");
        assertThatThrownBy(() -> new Alert(t, "fw1", Alert.Kind.GROUP, "G", "MASTER", 256, "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("priority");
        assertThatThrownBy(() -> new Alert(t, "fw\n1", Alert.Kind.GROUP, "G", "MASTER", 1, "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("node");
        assertThatThrownBy(() -> new WebhookSink(URI.create("file:///etc/passwd"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(new Alert(t, "fw1", Alert.Kind.GROUP, "G", "MASTER", 1, "y".repeat(5000)).text()).hasSize(4096);
    }
}
