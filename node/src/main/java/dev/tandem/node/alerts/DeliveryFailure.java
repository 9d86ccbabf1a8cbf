package dev.tandem.node.alerts;

/**
 * An alert a sink gave up on: all attempts failed, it was dropped from a full queue, or the dispatcher closed
 * before it was delivered.
 *
 * @param sink     the sink's {@link AlertSink#name()}
 * @param alert    the alert (for a queue overflow, the last one dropped)
 * @param attempts how many times delivery was tried (0 when it never was)
 * @param reason   why, in plain words
 * @param cause    the last error, or {@code null}
 */
public record DeliveryFailure(String sink, Alert alert, int attempts, String reason, Throwable cause) {

    /** A line for the event log, e.g. {@code alert "fw1: INSTANCE VG1 is MASTER (priority 100)" not delivered by webhook ...: ...}. */
    public String describe() {
        return "alert \"" + alert.summary() + "\" not delivered by " + sink + ": " + reason;
    }
}
