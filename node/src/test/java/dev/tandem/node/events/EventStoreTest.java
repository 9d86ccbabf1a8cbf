package dev.tandem.node.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventStoreTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long T0 = 1_790_000_000_000L;

    @TempDir
    Path dir;

    private static Retention big() {
        return new Retention(1_000_000, Duration.ofDays(3650));
    }

    private static EventStore.Options fixedClock(long millis) {
        return EventStore.Options.DEFAULTS.withClock(InstantSource.fixed(Instant.ofEpochMilli(millis)));
    }

    @Test
    void writesReadsNewestFirstAndSurvivesARestart() throws Exception {
        Path file = dir.resolve("sub/events.db");
        try (EventStore store = EventStore.open(file, big(), fixedClock(T0 + 10_000))) {
            store.append(Event.of(T0, "fw1", Event.TRANSITION, "fw1 became ACTIVE: fw2 silent for 1.02 s"));
            store.append(Event.of(T0 + 1, "fw2", Event.COMMAND, "demote", "admin alice"));
            store.append(Event.of(T0 + 2, "fw1", Event.REJECTED_PACKET, "advert from 10.0.0.9: unknown peer"));
            assertThat(store.flush(WAIT)).isTrue();
            assertThat(store.query(EventQuery.newest(10)).events()).hasSize(3);
        }
        assertThat(Files.exists(file)).isTrue();
        try (EventStore store = EventStore.open(file, big(), fixedClock(T0 + 10_000))) {
            EventPage page = store.query(EventQuery.newest(10));
            assertThat(page.events()).extracting(Event::kind).containsExactly(Event.REJECTED_PACKET, Event.COMMAND, Event.TRANSITION);
            assertThat(page.hasMore()).isFalse();
            Event cmd = page.events().get(1);
            assertThat(cmd.id()).isPositive();
            assertThat(cmd.timeMillis()).isEqualTo(T0 + 1);
            assertThat(cmd.node()).isEqualTo("fw2");
            assertThat(cmd.text()).isEqualTo("demote");
            assertThat(cmd.actor()).isEqualTo("admin alice");
            assertThat(page.events().get(0).actor()).isNull();
            // ids keep increasing after a restart
            store.append(Event.of(T0 + 3, "fw1", Event.INFO, "again"));
            store.flush(WAIT);
            assertThat(store.query(EventQuery.newest(1)).events().getFirst().id()).isGreaterThan(page.events().get(0).id());
        }
    }

    @Test
    void pagesWithACursorAndFilters() throws Exception {
        try (EventStore store = EventStore.open(dir.resolve("e.db"), big(), fixedClock(T0 + 100_000))) {
            for (int i = 0; i < 25; i++) {
                store.append(Event.of(T0 + i / 2, i % 2 == 0 ? "fw1" : "fw2", i % 5 == 0 ? Event.ALARM : Event.INFO, "e" + i));
            }
            store.flush(WAIT);
            List<String> seen = new ArrayList<>();
            EventQuery q = EventQuery.newest(10);
            EventPage p = store.query(q);
            List<Integer> sizes = new ArrayList<>();
            while (true) {
                sizes.add(p.events().size());
                p.events().forEach(e -> seen.add(e.text()));
                if (!p.hasMore()) break;
                p = store.query(q.withCursor(p.nextCursor()));
            }
            assertThat(sizes).containsExactly(10, 10, 5);
            // same time: the later written comes first
            assertThat(seen).containsExactlyElementsOf(IntStream.iterate(24, i -> i >= 0, i -> i - 1).mapToObj(i -> "e" + i).toList());

            assertThat(store.query(EventQuery.newest(100).withKind(Event.ALARM)).events()).extracting(Event::text)
                    .containsExactly("e20", "e15", "e10", "e5", "e0");
            assertThat(store.query(EventQuery.newest(100).withNode("fw2").withKind(Event.ALARM)).events()).extracting(Event::text)
                    .containsExactly("e15", "e5");
            // since inclusive, until exclusive: times T0+2 .. T0+3 are e4..e7
            assertThat(store.query(EventQuery.newest(100).withSince(T0 + 2).withUntil(T0 + 4)).events()).extracting(Event::text)
                    .containsExactly("e7", "e6", "e5", "e4");
            EventPage first = store.query(EventQuery.newest(2).withNode("fw1"));
            assertThat(first.events()).extracting(Event::text).containsExactly("e24", "e22");
            assertThat(store.query(EventQuery.newest(2).withNode("fw1").withCursor(first.nextCursor())).events())
                    .extracting(Event::text).containsExactly("e20", "e18");
        }
    }

    @Test
    void queryArgumentsAreBounded() {
        assertThatThrownBy(() -> EventQuery.newest(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EventQuery.newest(1001)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1000");
        assertThatThrownBy(() -> EventQuery.newest(10).withCursor("bogus")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cursor");
        assertThatThrownBy(() -> new Retention(0, Duration.ofDays(1))).isInstanceOf(IllegalArgumentException.class);
        Event e = Event.of(T0, "fw1", "INFO", "x".repeat(10_000) + "\u0000", "a\nb");
        assertThat(e.text()).hasSize(Event.MAX_TEXT).endsWith("…");
        assertThat(e.actor()).isEqualTo("a b");
    }

    @Test
    void retentionKeepsTheNewestCount() throws Exception {
        try (EventStore store = EventStore.open(dir.resolve("e.db"), new Retention(100, Duration.ofDays(1)),
                fixedClock(T0 + 1000).withMaxBatch(40))) {
            for (int i = 0; i < 250; i++) store.append(Event.of(T0 + i, "fw1", Event.INFO, "e" + i));
            store.flush(WAIT);
            List<Event> all = new ArrayList<>();
            EventPage p = store.query(EventQuery.newest(1000));
            all.addAll(p.events());
            assertThat(all).hasSize(100);
            assertThat(all.getFirst().text()).isEqualTo("e249");
            assertThat(all.getLast().text()).isEqualTo("e150");
        }
        // the count bound also holds across a restart
        try (EventStore store = EventStore.open(dir.resolve("e.db"), new Retention(100, Duration.ofDays(1)), fixedClock(T0 + 1000))) {
            store.append(Event.of(T0 + 500, "fw1", Event.INFO, "after restart"));
            store.flush(WAIT);
            EventPage p = store.query(EventQuery.newest(1000));
            assertThat(p.events()).hasSize(100);
            assertThat(p.events().getLast().text()).isEqualTo("e151");
        }
    }

    @Test
    void retentionRemovesEventsOlderThanTheMaximumAge() throws Exception {
        long now = T0 + Duration.ofDays(10).toMillis();
        try (EventStore store = EventStore.open(dir.resolve("e.db"), new Retention(1000, Duration.ofDays(7)), fixedClock(now))) {
            store.append(Event.of(now - Duration.ofDays(8).toMillis(), "fw1", Event.INFO, "too old"));
            store.append(Event.of(now - Duration.ofDays(6).toMillis(), "fw1", Event.INFO, "recent"));
            store.append(Event.of(now, "fw1", Event.INFO, "now"));
            store.flush(WAIT);
            assertThat(store.query(EventQuery.newest(10)).events()).extracting(Event::text).containsExactly("now", "recent");
        }
    }

    @Test
    void aFullQueueDropsTheOldestPendingAndAppendNeverWaits() throws Exception {
        Path file = dir.resolve("e.db");
        try (EventStore store = EventStore.open(file, big(), fixedClock(T0 + 1000).withQueueCapacity(10));
             Connection blocker = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            // hold the database's write lock so the writer is stuck in its first batch
            try (Statement s = blocker.createStatement()) {
                s.execute("PRAGMA busy_timeout=100");
                s.execute("BEGIN IMMEDIATE");
            }
            store.append(Event.of(T0, "fw1", Event.INFO, "first"));
            long until = System.nanoTime() + WAIT.toNanos();
            while (store.queuedCount() > 0 && System.nanoTime() < until) Thread.sleep(5);
            assertThat(store.queuedCount()).isZero();
            assertThat(store.pendingCount()).isEqualTo(1);

            long start = System.nanoTime();
            for (int i = 0; i < 25; i++) store.append(Event.of(T0 + 1 + i, "fw1", Event.INFO, "e" + i));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(200));
            assertThat(store.droppedCount()).isEqualTo(15);
            assertThat(store.pendingCount()).isEqualTo(11);

            try (Statement s = blocker.createStatement()) {
                s.execute("COMMIT");
            }
            assertThat(store.flush(WAIT)).isTrue();
            assertThat(store.query(EventQuery.newest(100)).events()).extracting(Event::text)
                    .containsExactly("e24", "e23", "e22", "e21", "e20", "e19", "e18", "e17", "e16", "e15", "first");
            assertThat(store.failedCount()).isZero();
        }
    }

    @Test
    void aFailedWriteIsReportedNotThrown() throws Exception {
        Path file = dir.resolve("e.db");
        List<String> reports = new CopyOnWriteArrayList<>();
        EventStore.Options opts = fixedClock(T0 + 1000)
                .withOnWriteFailure((n, e) -> reports.add(n + " " + e.getMessage()));
        try (EventStore store = EventStore.open(file, big(), opts)) {
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = other.createStatement()) {
                s.execute("DROP TABLE events");
            }
            store.append(Event.of(T0, "fw1", Event.INFO, "lost"));
            store.append(Event.of(T0, "fw1", Event.INFO, "lost too"));
            assertThat(store.flush(WAIT)).isTrue();
            assertThat(store.failedCount()).isEqualTo(2);
            // one or two batches, depending on whether the writer woke between the appends
            assertThat(reports.stream().mapToInt(r -> Integer.parseInt(r.substring(0, r.indexOf(' ')))).sum()).isEqualTo(2);
            assertThat(reports.getFirst()).contains(file.toString()).contains("no such table");
            assertThatThrownBy(() -> store.query(EventQuery.newest(1))).isInstanceOf(EventStoreException.class)
                    .hasMessageContaining(file.toString());
        }
    }

    @Test
    void aCorruptOrUnopenableFileIsAClearError() throws Exception {
        Path garbage = dir.resolve("garbage.db");
        Files.writeString(garbage, "this is not an SQLite database, just text. ".repeat(200));
        assertThatThrownBy(() -> EventStore.open(garbage, big()))
                .isInstanceOf(EventStoreException.class)
                .hasMessageContaining(garbage.toString())
                .hasMessageContaining("not a database");
        assertThat(Files.readString(garbage)).startsWith("this is not"); // left alone

        Path folder = Files.createDirectory(dir.resolve("folder.db"));
        assertThatThrownBy(() -> EventStore.open(folder, big()))
                .isInstanceOf(EventStoreException.class)
                .hasMessageContaining(folder.toString());

        Path file = dir.resolve("newer.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("PRAGMA user_version=99");
        }
        assertThatThrownBy(() -> EventStore.open(file, big()))
                .isInstanceOf(EventStoreException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("newer");
    }

    @Test
    void usesWalAndAppendsFromManyThreads() throws Exception {
        Path file = dir.resolve("e.db");
        try (EventStore store = EventStore.open(file, big(), fixedClock(T0 + 1000))) {
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int tt = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < 500; i++) store.append(Event.of(T0 + i, "fw" + tt, Event.INFO, "e" + i));
                }));
            }
            for (Thread t : ts) t.join();
            store.flush(WAIT);
            assertThat(store.writtenCount()).isEqualTo(2000);
            assertThat(store.droppedCount()).isZero();
            assertThat(store.query(EventQuery.newest(1000).withNode("fw3")).events()).hasSize(500);
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             var rs = s.executeQuery("PRAGMA journal_mode")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualToIgnoringCase("wal");
        }
    }

    @Test
    void closeFlushesAndLaterAppendsAreRefused() throws Exception {
        Path file = dir.resolve("e.db");
        EventStore store = EventStore.open(file, big(), fixedClock(T0 + 1000));
        for (int i = 0; i < 3000; i++) store.append(Event.of(T0 + i, "fw1", Event.INFO, "e" + i));
        store.close();
        assertThat(store.append(Event.of(T0, "fw1", Event.INFO, "late"))).isFalse();
        store.close(); // idempotent
        assertThatThrownBy(() -> store.query(EventQuery.newest(1))).isInstanceOf(IllegalStateException.class);
        try (EventStore again = EventStore.open(file, big(), fixedClock(T0 + 1000))) {
            assertThat(again.query(EventQuery.newest(1)).events().getFirst().text()).isEqualTo("e2999");
            assertThat(again.writtenCount()).isZero();
        }
        assertThat(store.writtenCount()).isEqualTo(3000);
    }
}
