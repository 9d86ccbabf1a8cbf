package dev.tandem.node.alerts;

/**
 * One way of delivering alerts (webhook, e-mail, notify script). The {@link AlertDispatcher} calls
 * {@link #deliver} on the sink's own thread, one alert at a time, and retries it when it throws.
 */
public interface AlertSink {

    /** A short description for failure reports, e.g. {@code webhook https://ops.example/hook}. */
    String name();

    /**
     * Delivers one alert, blocking until it is done, bounded by the sink's own timeout.
     *
     * @throws InterruptedException when the dispatcher is shutting down
     * @throws Exception            when delivery failed (the dispatcher may retry)
     */
    void deliver(Alert alert) throws Exception;
}
