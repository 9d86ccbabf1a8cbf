package dev.tandem.node.alerts;

import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Something to tell the operator about: a virtual group or instance changed state.
 *
 * <p>The fields follow keepalived's notify convention, so a notify script written for keepalived works unchanged:
 * it is run with {@code kind name state priority} ({@code TYPE NAME STATE PRIORITY} in keepalived's words).
 *
 * @param time     when it happened
 * @param node     the node reporting it (e.g. {@code fw1}); at most 64 characters, no control characters
 * @param kind     whether {@code name} is a group or a single instance
 * @param name     the virtual group or instance (e.g. {@code VG1}); at most 64 characters, no control characters
 * @param state    the new state, one word of letters, digits, '_' or '-' (e.g. {@code MASTER}, {@code BACKUP},
 *                 {@code FAULT}, {@code STOP}); at most 32 characters
 * @param priority the VRRP priority now in force, 0..255
 * @param text     what happened in plain words (cut to 4096 characters)
 */
public record Alert(Instant time, String node, Kind kind, String name, String state, int priority, String text) {

    /** What {@link Alert#name()} names; keepalived's notify TYPE. */
    public enum Kind { GROUP, INSTANCE }

    private static final Pattern STATE = Pattern.compile("[A-Za-z0-9_-]{1,32}");
    static final int MAX_NAME = 64;
    static final int MAX_TEXT = 4096;

    public Alert {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(text, "text");
        node = checkName("node", node);
        name = checkName("name", name);
        Objects.requireNonNull(state, "state");
        if (!STATE.matcher(state).matches()) {
            throw new IllegalArgumentException("state must be one word of letters, digits, '_' or '-' (at most 32): '" + state + "'");
        }
        if (priority < 0 || priority > 255) throw new IllegalArgumentException("priority must be 0..255: " + priority);
        if (text.length() > MAX_TEXT) text = text.substring(0, MAX_TEXT - 1) + "…";
    }

    private static String checkName(String what, String v) {
        Objects.requireNonNull(v, what);
        if (v.isBlank()) throw new IllegalArgumentException(what + " must not be blank");
        if (v.length() > MAX_NAME) throw new IllegalArgumentException(what + " is longer than " + MAX_NAME + " characters");
        for (int i = 0; i < v.length(); i++) {
            if (Character.isISOControl(v.charAt(i))) throw new IllegalArgumentException(what + " contains a control character");
        }
        return v;
    }

    /** A short one-line summary, e.g. {@code fw1: INSTANCE VG1 is MASTER (priority 100)}. */
    public String summary() {
        return node + ": " + kind + " " + name + " is " + state + " (priority " + priority + ")";
    }
}
