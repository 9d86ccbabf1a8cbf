package dev.tandem.node.events;

import java.util.Objects;

/**
 * A filter and a page size for {@link EventStore#query}. Results come newest first (by event time, then by id).
 * Build one with {@link #newest(int)} and the {@code with...} methods; every field is optional except the limit.
 *
 * <pre>{@code
 * EventPage p = store.query(EventQuery.newest(100).withKind(Event.TRANSITION).withSince(t0));
 * while (p.nextCursor() != null) p = store.query(q.withCursor(p.nextCursor()));
 * }</pre>
 *
 * @param sinceMillis only events at or after this time (epoch ms), or {@code null}
 * @param untilMillis only events before this time (epoch ms, exclusive), or {@code null}
 * @param kind        only events of this kind, or {@code null}
 * @param node        only events of this node, or {@code null}
 * @param limit       page size, 1 to {@value #MAX_LIMIT}
 * @param cursor      continue after the page that returned this {@link EventPage#nextCursor()}, or {@code null} for the first page
 */
public record EventQuery(Long sinceMillis, Long untilMillis, String kind, String node, int limit, String cursor) {

    /** The largest page. */
    public static final int MAX_LIMIT = 1000;

    public EventQuery {
        if (limit < 1 || limit > MAX_LIMIT) throw new IllegalArgumentException("limit must be 1.." + MAX_LIMIT + ": " + limit);
        if (cursor != null) Cursor.parse(cursor); // fail early with a clear message
    }

    /** The newest {@code limit} events, no filter. */
    public static EventQuery newest(int limit) {
        return new EventQuery(null, null, null, null, limit, null);
    }

    public EventQuery withSince(long millis) { return new EventQuery(millis, untilMillis, kind, node, limit, cursor); }
    public EventQuery withUntil(long millis) { return new EventQuery(sinceMillis, millis, kind, node, limit, cursor); }
    public EventQuery withKind(String k) { return new EventQuery(sinceMillis, untilMillis, Objects.requireNonNull(k), node, limit, cursor); }
    public EventQuery withNode(String n) { return new EventQuery(sinceMillis, untilMillis, kind, Objects.requireNonNull(n), limit, cursor); }
    public EventQuery withLimit(int l) { return new EventQuery(sinceMillis, untilMillis, kind, node, l, cursor); }
    /** The same query continued after the page whose {@link EventPage#nextCursor()} this is. */
    public EventQuery withCursor(String c) { return new EventQuery(sinceMillis, untilMillis, kind, node, limit, c); }

    /** The position after the last event of a page: its time and id. Opaque to callers ("time.id"). */
    record Cursor(long timeMillis, long id) {
        static Cursor parse(String s) {
            int dot = s.indexOf('.');
            try {
                if (dot <= 0 || s.length() > 41) throw new NumberFormatException();
                return new Cursor(Long.parseLong(s.substring(0, dot)), Long.parseLong(s.substring(dot + 1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a cursor from this event store: '" + (s.length() > 41 ? s.substring(0, 41) + "…" : s) + "'");
            }
        }

        String format() {
            return timeMillis + "." + id;
        }
    }
}
