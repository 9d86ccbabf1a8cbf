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
        SessionSyncConfig sessions,
        ConfigSyncConfig configSync,
        int realtimePriority) {     // SCHED_FIFO priority of the failover-path threads; 0 = ordinary scheduling

    public static final int DEFAULT_REALTIME_PRIORITY = 10;

    /** Configuration sync (SPEC §5, issue 6): the primary's ruleset and declared files go to every peer. */
    public record ConfigSyncConfig(boolean enabled, String ruleset, java.util.List<ManagedFile> files) {
        public static ConfigSyncConfig off() {
            return new ConfigSyncConfig(false, null, java.util.List.of());
        }
    }

    /** A declared file and the command (program and arguments) that reloads it, or an empty list. */
    public record ManagedFile(String path, java.util.List<String> reload) {
        /** The reload command as one shell line (each word single-quoted), or null. */
        public String reloadLine() {
            if (reload.isEmpty()) {
                return null;
            }
            StringBuilder sb = new StringBuilder();
            for (String w : reload) {
                if (!sb.isEmpty()) {
                    sb.append(' ');
                }
                sb.append('\'').append(w.replace("'", "'\\''")).append('\'');
            }
            return sb.toString();
        }
    }

    /** Session sync (SPEC §4). port 0: channel_port + 1. */
    /** ignore: networks whose flows (original source or destination inside) are not synced. */
    /** mode: CACHE keeps the peer's sessions in the external cache until takeover; DIRECT writes them into the kernel as they come. */
    /**
     * @param local cluster.sessions.local: also sync the firewall's own traffic on the virtual addresses (services
     *     that move with them: a VPN or resolver on a VIP); a node's own addresses are never synced
     */
    public record SessionSyncConfig(boolean enabled, int port, java.util.Set<Integer> protocols, int maxEntries,
                                    long maxChangesPerSecond, java.util.List<dev.tandem.core.net.Cidr> ignore, Mode mode,
                                    boolean local) {
        /** cluster.sessions.mode */
        public enum Mode { CACHE, DIRECT }

        public SessionSyncConfig(boolean enabled, int port, java.util.Set<Integer> protocols, int maxEntries,
                                 long maxChangesPerSecond, java.util.List<dev.tandem.core.net.Cidr> ignore) {
            this(enabled, port, protocols, maxEntries, maxChangesPerSecond, ignore, Mode.CACHE, false);
        }

        public static SessionSyncConfig off() {
            return new SessionSyncConfig(false, 0, java.util.Set.of(6, 17, 1, 58), 1_000_000, 0, java.util.List.of());
        }
    }
}
