package dev.tandem.node.cli;

import dev.tandem.node.api.ActionRefused;
import dev.tandem.node.api.NodeView;
import dev.tandem.node.events.Event;
import dev.tandem.node.events.EventPage;
import dev.tandem.node.events.EventQuery;
import dev.tandem.node.events.EventStore;
import dev.tandem.node.events.Retention;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A node for the CLI tests: a fixed status, a real EventStore, recorded actions and per-action refusals. */
final class FakeNode implements NodeView, AutoCloseable {
    record Call(String action, String who, String reason) {}

    final List<Call> calls = new CopyOnWriteArrayList<>();
    final Map<String, String> refusals = new ConcurrentHashMap<>();
    final EventStore store;
    final String name;
    volatile String state = "ACTIVE";

    FakeNode(Path dir, String name) throws Exception {
        this.name = name;
        store = EventStore.open(dir.resolve(name + "-events.db"), new Retention(100_000, Duration.ofDays(3650)));
    }

    @Override
    public String node() {
        return name;
    }

    @Override
    public String statusJson() {
        boolean active = "ACTIVE".equals(state);
        return "{\"version\":\"0.1.0\",\"node\":\"" + name + "\",\"role\":\"primary\",\"state\":\"" + state
                + "\",\"priority\":150,\"effective_priority\":" + (active ? 150 : 100) + ",\"dropped_inputs\":0,"
                + "\"instances\":[{\"instance\":\"VG1 lan0\",\"vrid\":51,\"role\":\"" + (active ? "MASTER" : "BACKUP")
                + "\",\"master\":\"10.0.0.1\",\"master_priority\":150,\"adverts_sent\":12,\"adverts_received\":3,\"rejected\":0}],"
                + "\"suspended_by\":\"\",\"flap_count\":0,\"advert_silence_ms\":" + (active ? "20.2" : "13.2") + ","
                + "\"monitors\":[{\"name\":\"uplinks\",\"monitor\":\"link group uplinks\",\"effect\":\"-50\",\"up\":true,\"detail\":\"wan0 up\"},"
                + "{\"name\":\"dns\",\"monitor\":\"service dns\",\"effect\":\"fault\",\"up\":false,\"detail\":\"timeout\\u001b[31m after 2 s\"}],"
                + "\"rejected_by_reason\":{},\"transitions\":[\"" + name + " INIT -> PASSIVE\",\"" + name + " PASSIVE -> ACTIVE: peer silent\"],"
                + "\"channel\":[\"control link to fw2 (10.9.0.2:7400): connected, mutual TLS 1.3\","
                + "\"backup link to fw2 (10.8.0.2:7400): down\","
                + "\"last hello from fw2 at 2025-01-01T00:00:00Z on control: role secondary, state PASSIVE, priority 100\"],"
                + "\"events\":[]}";
    }

    @Override
    public EventPage events(EventQuery q) throws Exception {
        return store.query(q);
    }

    @Override
    public String act(String action, String who, String reason) throws ActionRefused {
        String r = refusals.get(action);
        if (r != null) {
            throw new ActionRefused(r);
        }
        calls.add(new Call(action, who, reason));
        return name + ": " + action + " done";
    }

    @Override
    public Registration addListener(Listener l) {
        return () -> { };
    }

    void append(Event e) {
        store.append(e);
    }

    void flush() throws InterruptedException {
        store.flush(Duration.ofSeconds(10));
    }

    @Override
    public void close() {
        store.close();
    }
}
