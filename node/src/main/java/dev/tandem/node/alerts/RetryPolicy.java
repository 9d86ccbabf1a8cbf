package dev.tandem.node.alerts;

import java.time.Duration;
import java.util.Objects;

/**
 * How often and how patiently a sink retries one alert: at most {@code maxAttempts} tries, waiting
 * {@code initialBackoff} after the first failure and doubling each time up to {@code maxBackoff}.
 *
 * @param maxAttempts    tries in all, 1..20
 * @param initialBackoff the wait after the first failure, not negative
 * @param maxBackoff     the longest wait, at least {@code initialBackoff}, at most 10 minutes
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {

    /** 5 tries, waiting 1 s, 2 s, 4 s, 8 s in between. */
    public static final RetryPolicy DEFAULT = new RetryPolicy(5, Duration.ofSeconds(1), Duration.ofSeconds(30));
    /** One try, no retry (suits notify scripts, whose side effects may not be safe to repeat). */
    public static final RetryPolicy ONCE = new RetryPolicy(1, Duration.ZERO, Duration.ZERO);

    public RetryPolicy {
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        if (maxAttempts < 1 || maxAttempts > 20) throw new IllegalArgumentException("maxAttempts must be 1..20: " + maxAttempts);
        if (initialBackoff.isNegative()) throw new IllegalArgumentException("initialBackoff must not be negative");
        if (maxBackoff.compareTo(initialBackoff) < 0) throw new IllegalArgumentException("maxBackoff must be >= initialBackoff");
        if (maxBackoff.compareTo(Duration.ofMinutes(10)) > 0) throw new IllegalArgumentException("maxBackoff must be at most 10 minutes");
    }

    /** The wait after failed attempt number {@code attempt} (1-based). */
    public Duration backoffAfter(int attempt) {
        Duration d = initialBackoff;
        for (int i = 1; i < attempt && d.compareTo(maxBackoff) < 0; i++) d = d.multipliedBy(2);
        return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }
}
