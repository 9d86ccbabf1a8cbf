package dev.tandem.node.events;

import java.util.List;

/**
 * One page of a query, newest first.
 *
 * @param events     at most the query's limit
 * @param nextCursor pass to {@link EventQuery#withCursor} for the next (older) page; {@code null} when there is none
 */
public record EventPage(List<Event> events, String nextCursor) {
    public EventPage {
        events = List.copyOf(events);
    }

    /** Whether an older page may follow. */
    public boolean hasMore() {
        return nextCursor != null;
    }
}
