package dev.tandem.core.ha;

import java.util.List;

/**
 * The dedicated heartbeat paths to the other nodes (control link, backup link) and their timers.
 *
 * @param peers             names of the other nodes
 * @param paths             path names, e.g. ["control", "backup"]; empty: VRRP adverts are the only path
 * @param heartbeatMisses   heartbeats missed before a path counts as silent
 * @param advertSilenceMs   how long adverts must be silent on every segment when the dedicated paths
 *                          corroborate the silence; -1 = two advert intervals plus the skew time
 */
public record PeerLinks(List<String> peers, List<String> paths, int heartbeatIntervalMs, int heartbeatMisses,
                        long advertSilenceMs) {

    public PeerLinks {
        peers = List.copyOf(peers);
        paths = List.copyOf(paths);
        if (!paths.isEmpty() && (heartbeatIntervalMs < 1 || heartbeatMisses < 1)) {
            throw new IllegalArgumentException("heartbeat interval and misses must be positive");
        }
        if (advertSilenceMs < -1) {
            throw new IllegalArgumentException("advert silence must be >= 0 or -1 (default)");
        }
    }

    public static PeerLinks none() {
        return new PeerLinks(List.of(), List.of(), 0, 0, -1);
    }

    public boolean enabled() {
        return !paths.isEmpty() && !peers.isEmpty();
    }

    /** The profile values: 100 ms (default) or 2 ms (aggressive) heartbeats, 3 misses. */
    public static int profileHeartbeatMs(String profile) {
        return "aggressive".equals(profile) ? 2 : 100;
    }
}
