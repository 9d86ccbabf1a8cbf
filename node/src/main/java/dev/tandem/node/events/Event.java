package dev.tandem.node.events;

import java.util.Objects;

/**
 * One entry of the event log.
 *
 * <p>Strings are bounded: {@code node} and {@code kind} to {@value #MAX_NAME} characters, {@code actor}
 * to {@value #MAX_ACTOR}, {@code text} to {@value #MAX_TEXT}; longer values are cut (with a trailing
 * "…") rather than refused, so an event is never lost to its length. Control characters other than tab and
 * newline in {@code text} (and all of them in the other fields) are replaced by a space.
 *
 * @param id     the store's id, increasing in the order events were written; {@code 0} for an event not yet stored
 * @param timeMillis when it happened, epoch milliseconds
 * @param node   the node it happened on (e.g. {@code fw1})
 * @param kind   what kind of event: one of the constants below or any other short word
 * @param text   what happened, in plain words
 * @param actor  who did it (an operator, a token's name, {@code "peer fw2"}), or {@code null} when nobody did
 */
public record Event(long id, long timeMillis, String node, String kind, String text, String actor) {

    /** A change of role or state of a node or virtual group. */
    public static final String TRANSITION = "TRANSITION";
    /** A health alarm raised or cleared. */
    public static final String ALARM = "ALARM";
    /** An operator command (demote, suspend, config apply, ...). */
    public static final String COMMAND = "COMMAND";
    /** Something worth attention that did not change state. */
    public static final String WARNING = "WARNING";
    /** Anything else worth keeping. */
    public static final String INFO = "INFO";
    /** A packet or frame refused (unknown peer, bad authentication, malformed). */
    public static final String REJECTED_PACKET = "REJECTED_PACKET";

    /** Longest node or kind kept. */
    public static final int MAX_NAME = 64;
    /** Longest actor kept. */
    public static final int MAX_ACTOR = 128;
    /** Longest text kept. */
    public static final int MAX_TEXT = 4096;

    public Event {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(text, "text");
        if (id < 0) throw new IllegalArgumentException("id must be >= 0: " + id);
        node = clean(node, MAX_NAME, false);
        kind = clean(kind, MAX_NAME, false);
        if (node.isBlank()) throw new IllegalArgumentException("node must not be blank");
        if (kind.isBlank()) throw new IllegalArgumentException("kind must not be blank");
        text = clean(text, MAX_TEXT, true);
        actor = actor == null ? null : clean(actor, MAX_ACTOR, false);
    }

    /** A new event (not yet stored) without an actor. */
    public static Event of(long timeMillis, String node, String kind, String text) {
        return new Event(0, timeMillis, node, kind, text, null);
    }

    /** A new event (not yet stored) done by {@code actor} (may be {@code null}). */
    public static Event of(long timeMillis, String node, String kind, String text, String actor) {
        return new Event(0, timeMillis, node, kind, text, actor);
    }

    /** This event with the id the store gave it. */
    Event withId(long newId) {
        return new Event(newId, timeMillis, node, kind, text, actor);
    }

    private static String clean(String s, int max, boolean multiline) {
        StringBuilder b = null;
        int n = Math.min(s.length(), max);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            boolean bad = Character.isISOControl(c) && !(multiline && (c == '\n' || c == '\t'));
            if (bad) {
                if (b == null) b = new StringBuilder(s.substring(0, i));
                b.append(' ');
            } else if (b != null) {
                b.append(c);
            }
        }
        String out = b != null ? b.toString() : s.substring(0, n);
        if (s.length() > max) {
            // do not split a surrogate pair
            int cut = max - 1;
            if (cut > 0 && Character.isHighSurrogate(out.charAt(cut - 1))) cut--;
            out = out.substring(0, cut) + "…";
        }
        return out;
    }
}
