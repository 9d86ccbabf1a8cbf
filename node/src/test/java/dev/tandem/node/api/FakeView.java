package dev.tandem.node.api;

import dev.tandem.node.events.Event;
import dev.tandem.node.events.EventPage;
import dev.tandem.node.events.EventQuery;
import dev.tandem.node.events.EventStore;
import dev.tandem.node.events.Retention;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicInteger;

/** A node for the API tests: a status that tests switch, a real EventStore, and a record of actions. */
final class FakeView implements NodeView, AutoCloseable {
    record Call(String action, String who, String reason, String thread) {}

    final List<Call> calls = new CopyOnWriteArrayList<>();
    final Set<Listener> listeners = new CopyOnWriteArraySet<>();
    final AtomicInteger statusCalls = new AtomicInteger();
    final EventStore store;
    volatile String state = "ACTIVE";
    volatile String refusal;
    volatile String padding = "";
    volatile RuntimeException statusFailure;

    FakeView(Path dir) throws Exception {
        store = EventStore.open(dir.resolve("events.db"), new Retention(100_000, Duration.ofDays(3650)));
    }

    @Override
    public String node() {
        return "fw1";
    }

    @Override
    public String statusJson() {
        statusCalls.incrementAndGet();
        if (statusFailure != null) {
            throw statusFailure;
        }
        return "{\"node\":\"fw1\",\"role\":\"primary\",\"state\":\"" + state + "\",\"priority\":150,"
                + "\"effective_priority\":" + ("ACTIVE".equals(state) ? 150 : 100) + ",\"dropped_inputs\":0,"
                + "\"instances\":[{\"instance\":\"VG1 lan0\",\"vrid\":51,\"role\":\"" + ("ACTIVE".equals(state) ? "MASTER" : "BACKUP")
                + "\",\"master\":\"10.0.0.1\",\"master_priority\":150,\"adverts_sent\":12,\"adverts_received\":3,\"rejected\":0}],"
                + "\"suspended_by\":\"\",\"flap_count\":0,"
                + "\"monitors\":[{\"name\":\"uplinks\",\"monitor\":\"link group uplinks\",\"effect\":\"-50\",\"up\":true,\"detail\":\"wan0 up\"},"
                + "{\"name\":\"dns\",\"monitor\":\"service dns\",\"effect\":\"fault\",\"up\":false,\"detail\":\"<b>timeout</b> after 2 s\"}],"
                + "\"rejected_by_reason\":{},\"transitions\":[],"
                + "\"channel\":[\"control link to fw2 (10.9.0.2:7400): connected, mutual TLS 1.3\","
                + "\"backup link to fw2 (10.8.0.2:7400): down\","
                + "\"last hello from fw2 at 2025-01-01T00:00:00Z on control: role secondary, state PASSIVE, priority 100, "
                + "version 0.1.0, config 7, sessions in sync, health ok\"],"
                + "\"events\":[],\"version\":\"0.1.0\",\"intervals\":{\"advert_ms\":1000,\"hello_ms\":200}"
                + (padding.isEmpty() ? "" : ",\"padding\":\"" + padding + "\"") + "}";
    }

    @Override
    public EventPage events(EventQuery q) throws Exception {
        return store.query(q);
    }

    @Override
    public String act(String action, String who, String reason) throws ActionRefused {
        if (refusal != null) {
            throw new ActionRefused(refusal);
        }
        calls.add(new Call(action, who, reason, Thread.currentThread().getName()));
        return "fw1: " + action + " done";
    }

    @Override
    public Registration addListener(Listener l) {
        listeners.add(l);
        return () -> listeners.remove(l);
    }

    void setState(String s) {
        state = s;
        listeners.forEach(Listener::statusChanged);
    }

    void append(Event e) throws InterruptedException {
        store.append(e);
        store.flush(Duration.ofSeconds(10));
        listeners.forEach(l -> l.eventAppended(e));
    }

    @Override
    public void close() {
        store.close();
    }
}
