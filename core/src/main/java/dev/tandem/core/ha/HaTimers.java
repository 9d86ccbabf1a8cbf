package dev.tandem.core.ha;

/**
 * The timers of one node (SPEC §2). Built from a profile, each value overridable.
 *
 * @param electionDelayMs -1 means "the master-down interval"
 * @param announceRefreshMs 0 means no periodic re-announcement
 * @param promotionHoldMs extra wait after the active is found silent on every path before taking over
 */
public record HaTimers(int advertIntervalMs, long electionDelayMs, long preemptionHoldMs,
                       int announceCount, int announceSpacingMs, int announceRefreshMs, long promotionHoldMs) {

    public HaTimers(int advertIntervalMs, long electionDelayMs, long preemptionHoldMs,
                    int announceCount, int announceSpacingMs, int announceRefreshMs) {
        this(advertIntervalMs, electionDelayMs, preemptionHoldMs, announceCount, announceSpacingMs, announceRefreshMs, 0);
    }

    public HaTimers {
        if (advertIntervalMs < 10 || advertIntervalMs > 40950 || advertIntervalMs % 10 != 0) {
            throw new IllegalArgumentException("advert interval must be a multiple of 10 ms in 10..40950, got "
                    + advertIntervalMs);
        }
        if (electionDelayMs < -1 || preemptionHoldMs < 0 || announceCount < 1 || announceSpacingMs < 1
                || announceRefreshMs < 0 || promotionHoldMs < 0) {
            throw new IllegalArgumentException("timer out of range");
        }
    }

    public static HaTimers profile(String name) {
        return switch (name) {
            case "default" -> new HaTimers(300, -1, 1000, 5, 20, 0);
            case "aggressive" -> new HaTimers(10, -1, 1000, 5, 10, 0);
            default -> throw new IllegalArgumentException("unknown timer profile '" + name
                    + "' (default | aggressive)");
        };
    }

    public HaTimers withPromotionHoldMs(long v) {
        return new HaTimers(advertIntervalMs, electionDelayMs, preemptionHoldMs, announceCount, announceSpacingMs,
                announceRefreshMs, v);
    }

    public int advertIntervalCs() {
        return advertIntervalMs / 10;
    }

    public HaTimers withAdvertIntervalMs(int v) {
        return new HaTimers(v, electionDelayMs, preemptionHoldMs, announceCount, announceSpacingMs, announceRefreshMs, promotionHoldMs);
    }

    public HaTimers withPreemptionHoldMs(long v) {
        return new HaTimers(advertIntervalMs, electionDelayMs, v, announceCount, announceSpacingMs, announceRefreshMs, promotionHoldMs);
    }

    public HaTimers withElectionDelayMs(long v) {
        return new HaTimers(advertIntervalMs, v, preemptionHoldMs, announceCount, announceSpacingMs, announceRefreshMs,
                promotionHoldMs);
    }

    /** RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256. */
    public static long skewNanos(int priority, long masterAdvertIntervalNanos) {
        return ((256L - priority) * masterAdvertIntervalNanos) / 256L;
    }

    /** RFC 5798 §6.1: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time. */
    public static long masterDownNanos(int priority, long masterAdvertIntervalNanos) {
        return 3 * masterAdvertIntervalNanos + skewNanos(priority, masterAdvertIntervalNanos);
    }
}
