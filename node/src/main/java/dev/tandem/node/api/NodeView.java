package dev.tandem.node.api;

import dev.tandem.node.events.Event;
import dev.tandem.node.events.EventPage;
import dev.tandem.node.events.EventQuery;

/**
 * What the operator API needs from a running node. The daemon implements it; {@link ApiServer} only reads through
 * it and asks it to act, so the HTTP layer can be tested against a fake.
 *
 * <p>Every method may be called from several API threads at once (at most the server's thread count), never from the
 * node's own threads: the API does not block the node.
 */
public interface NodeView {

    /** This node's name (e.g. {@code fw1}). */
    String node();

    /**
     * The node's status as one JSON object: {@code StatusReport.json(...)} output
     * ({@code {"node":..,"role":..,"state":..,"effective_priority":..,"monitors":[..],"channel":[..],...}}).
     * Extra fields (e.g. {@code "version"}, {@code "intervals"}) are passed through to clients untouched.
     */
    String statusJson() throws Exception;

    /** One page of the event log, newest first (normally {@code EventStore.query}). */
    EventPage events(EventQuery q) throws Exception;

    /**
     * Carries out an operator action for {@code who} (the API token's name).
     *
     * @param action one of {@link #ACTIONS}
     * @param who    the name of the token that asked; the node should record it as the event's actor
     * @param reason the operator's reason (at most {@value ApiServer#MAX_REASON} characters), or {@code null}
     * @return a short answer for the operator, e.g. {@code "fw1 demoted: fw2 takes over"}
     * @throws ActionRefused when the node's state does not allow it (the API answers 409 with its message)
     */
    String act(String action, String who, String reason) throws ActionRefused;

    /**
     * Registers a listener for live updates; the returned handle removes it. The node calls the listener from its
     * own threads; the API's listener only records the change and returns at once (it never blocks, never throws).
     */
    Registration addListener(Listener listener);

    /** Prometheus text exposition of the node's metrics; unsupported by default (then /metrics is 404). */
    default String metrics() throws Exception {
        throw new UnsupportedOperationException("no metrics");
    }

    /** The actions {@link #act} takes. */
    java.util.List<String> ACTIONS = java.util.List.of("demote", "suspend", "resume", "sync-config");

    /** Told about changes; the methods must return quickly (the API's do). */
    interface Listener {
        /** Something in {@link #statusJson()} may have changed (state, priority, a monitor, a link...). */
        void statusChanged();

        /** An event was appended to the log. */
        void eventAppended(Event event);
    }

    /** Removes a listener. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
