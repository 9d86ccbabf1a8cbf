package dev.tandem.node.channel;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Accepts a peer's heartbeats on one path only with a sequence number above the last one accepted
 * under the same key. The MAC proves who sent a heartbeat, not when: a captured heartbeat that
 * claims ACTIVE, sent again, would hold a passive back from promoting after the active died. A new
 * key means the peer restarted (its sequence starts again at 0) and starts afresh. Reordered
 * datagrams are dropped too, which costs nothing: the next one is 2 ms away. One entry per peer
 * whose MAC checked out, so bounded by the configured peers. One reader thread.
 */
final class HeartbeatReplayGuard {
    private final Map<String, byte[]> keyOf = new HashMap<>();
    private final Map<String, Long> lastSeq = new HashMap<>();

    /** True if this heartbeat (already authenticated with key) is newer than any accepted from node. */
    boolean accept(String node, byte[] key, long seq) {
        byte[] k = keyOf.get(node);
        if (k == null || (k != key && !Arrays.equals(k, key))) {
            keyOf.put(node, key);
            lastSeq.put(node, seq);
            return true;
        }
        if (seq <= lastSeq.get(node)) {
            return false;
        }
        lastSeq.put(node, seq);
        return true;
    }
}
