package dev.tandem.node.api;

import java.util.Locale;

/** What an API token may do. */
public enum Role {
    /** Read: status, events, the live stream, the dashboard. */
    VIEWER,
    /** Read and act: demote, suspend, resume, sync-config. */
    ADMIN;

    public boolean mayAct() {
        return this == ADMIN;
    }

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Role parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "viewer" -> VIEWER;
            case "admin" -> ADMIN;
            default -> throw new IllegalArgumentException("role must be viewer or admin, not '" + s + "'");
        };
    }
}
