package dev.tandem.node.config;

import java.util.List;

/**
 * Where events are kept and whom to alert (SPEC §8). Shared by every node; the database file is
 * per node ({@code <state_dir>/<node>-events.db}).
 *
 * @param stateDir where the node keeps what must survive a restart (the event database)
 * @param eventsMaxCount retention: the newest this many events are kept
 * @param eventsMaxAgeDays retention: none older than this
 * @param syslog also write every event to the system log (/dev/log)
 */
public record OperatorConfig(String stateDir, long eventsMaxCount, long eventsMaxAgeDays, boolean syslog,
                             List<Webhook> webhooks, Email email, String notifyScript, int notifyTimeoutMs,
                             String tokenFile, boolean apiPlaintext) {

    public record Webhook(String url, int timeoutMs) {}

    public record Email(String server, int port, String from, List<String> to, int timeoutMs) {}

    public static OperatorConfig defaults() {
        return new OperatorConfig("/var/lib/tandem", 100_000, 30, true, List.of(), null, null, 10_000, null, false);
    }

    /** The token file: configured, or tokens in the state directory. */
    public String tokenFileOrDefault() {
        return tokenFile != null ? tokenFile : stateDir + "/tokens";
    }
}
