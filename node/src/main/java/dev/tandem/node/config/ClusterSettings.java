package dev.tandem.node.config;

/**
 * Cluster-wide settings. Timer fields are already resolved: profile value unless overridden.
 * electionDelayMs is -1 when not set (meaning: the master-down interval).
 */
public record ClusterSettings(
        String name,
        String profile,
        int advertIntervalMs,
        long electionDelayMs,
        long preemptionHoldMs,
        boolean preempt,
        boolean accept,
        String checksum,          // "rfc5798" | "v2"
        int announceCount,
        int announceSpacingMs,
        int announceRefreshMs,
        String runDir,
        String securityMode,      // "tls" | "plaintext"
        String pkiDir,
        int channelPort,
        int heartbeatIntervalMs,
        int heartbeatMisses,
        int helloIntervalMs,
        long advertSilenceMs,
        long promotionHoldMs,
        long monitorFailHoldUpMs,
        long additionalMasterHoldUpMs,
        long monitorFailHoldDownMs,
        int flapMax,
        SessionSyncConfig sessions) {

    /** Session sync (SPEC §4). port 0: channel_port + 1. */
    /** ignore: networks whose flows (original source or destination inside) are not synced. */
    public record SessionSyncConfig(boolean enabled, int port, java.util.Set<Integer> protocols, int maxEntries,
                                    long maxChangesPerSecond, java.util.List<dev.tandem.core.net.Cidr> ignore) {
        public static SessionSyncConfig off() {
            return new SessionSyncConfig(false, 0, java.util.Set.of(6, 17, 1, 58), 1_000_000, 0, java.util.List.of());
        }
    }
}
