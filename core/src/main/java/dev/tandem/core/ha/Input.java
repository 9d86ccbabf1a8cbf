package dev.tandem.core.ha;

import dev.tandem.core.net.IpAddress;
import java.util.Map;

/** What the outside world tells a node core. Time is passed beside the input, never read. */
public sealed interface Input {

    /** Nothing happened but time passed: fire due timers. */
    record Tick() implements Input {}

    /** A packet arrived on a VRRP socket. ttl is the IPv4 TTL or IPv6 hop limit. */
    record PacketReceived(String iface, boolean ipv6, IpAddress source, IpAddress destination, int ttl,
                          byte[] payload) implements Input {}

    /** The kernel reported a link state change. */
    record LinkChanged(String iface, boolean up) implements Input {}

    /** An operator command; who names the person or tool that asked. */
    record Command(CommandKind kind, String who) implements Input {}

    /** Graceful shutdown (SIGTERM): hand over at once and release the addresses. */
    record Shutdown(String why) implements Input {}

    /**
     * An authenticated heartbeat from a peer on a dedicated path, carrying the sender's state and
     * effective priority at the time it was sent.
     */
    record Heartbeat(String peer, String path, NodeState peerState, int peerPriority) implements Input {}

    /** The channel to a peer on a path closed (reset, refused): the path is silent from now on. */
    record ChannelClosed(String peer, String path, String why) implements Input {}

    /** The active peer gave up the role and said so over the channel (faster than priority 0). */
    record PeerReleased(String peer, String why) implements Input {}

    /** One ICMP echo to a path group destination: answered or not (error says why, may be empty). */
    record ProbeResult(String group, String destination, boolean ok, String error) implements Input {}

    /** One run of a service check or self-check. */
    record CheckResult(String check, boolean ok, String detail) implements Input {}

    /** A peer's results for the compare-mode path groups: group → the peer reaches it. */
    record PeerHealth(String peer, Map<String, Boolean> pathGroups) implements Input {
        public PeerHealth {
            pathGroups = Map.copyOf(pathGroups);
        }
    }

    /** Session sync on this node: complete = a bulk transfer finished and the stream follows. */
    record SessionSyncState(boolean complete, long entries) implements Input {}

    /**
     * The commit asked for by {@link Action.CommitSessions} with this id is done (whatever it wrote or
     * failed to write: the report is the caller's): the takeover may now add the addresses.
     */
    record SessionsCommitted(long commit) implements Input {}

    enum CommandKind { SUSPEND, RESUME, DEMOTE }
}
