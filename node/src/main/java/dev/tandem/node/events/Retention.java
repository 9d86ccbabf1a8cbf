package dev.tandem.node.events;

import java.time.Duration;
import java.util.Objects;

/**
 * How much of the event log is kept: at most {@code maxCount} events, none older than {@code maxAge}.
 * Both limits apply; the store enforces them after every write batch (see {@link EventStore}).
 *
 * @param maxCount the most events kept (the newest ones), at least 1
 * @param maxAge   the oldest an event may be (by its own time) before it is removed, positive
 */
public record Retention(long maxCount, Duration maxAge) {

    /** 100,000 events, 30 days. */
    public static final Retention DEFAULT = new Retention(100_000, Duration.ofDays(30));

    public Retention {
        Objects.requireNonNull(maxAge, "maxAge");
        if (maxCount < 1) throw new IllegalArgumentException("maxCount must be >= 1: " + maxCount);
        if (maxAge.isNegative() || maxAge.isZero()) throw new IllegalArgumentException("maxAge must be positive: " + maxAge);
    }
}
