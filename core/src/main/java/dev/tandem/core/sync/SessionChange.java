package dev.tandem.core.sync;

import java.util.Arrays;

/**
 * One change of the active's session table: an upsert (value present) or a delete (value null).
 * key identifies the flow (original tuple, protocol, zone); value is the encoded session; both are
 * opaque here. timeoutSeconds is the session's own timeout, after which a peer's cache forgets it.
 */
public record SessionChange(byte[] key, byte[] value, int timeoutSeconds) {
    public static final int MAX_KEY = 64;
    public static final int MAX_VALUE = 256;

    public SessionChange {
        if (key == null || key.length == 0 || key.length > MAX_KEY) {
            throw new IllegalArgumentException("session key of " + (key == null ? "no" : key.length) + " bytes");
        }
        if (value != null && value.length > MAX_VALUE) {
            throw new IllegalArgumentException("session value of " + value.length + " bytes (max " + MAX_VALUE + ")");
        }
        if (timeoutSeconds < 0) {
            throw new IllegalArgumentException("negative timeout");
        }
    }

    public static SessionChange upsert(byte[] key, byte[] value, int timeoutSeconds) {
        return new SessionChange(key, value, timeoutSeconds);
    }

    public static SessionChange delete(byte[] key) {
        return new SessionChange(key, null, 0);
    }

    public boolean isDelete() {
        return value == null;
    }

    /** Bytes on the wire (for batching limits). */
    public int size() {
        return 7 + key.length + (value == null ? 0 : value.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionChange c && Arrays.equals(key, c.key) && Arrays.equals(value, c.value)
                && timeoutSeconds == c.timeoutSeconds;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key) * 31 + Arrays.hashCode(value);
    }
}
