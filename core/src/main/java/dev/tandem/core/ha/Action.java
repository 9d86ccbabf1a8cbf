package dev.tandem.core.ha;

import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import java.util.List;
import java.util.Map;

/** What a node core asks the outside world to do, in order. */
public sealed interface Action {

    /** Send a VRRP message (already encoded, checksum included) to the VRRP group on iface. */
    record SendAdvert(String iface, boolean ipv6, IpAddress source, byte[] payload, int priority) implements Action {}

    record AddAddress(String iface, Cidr address) implements Action {}

    /**
     * Commit the synced sessions into the kernel, then answer with {@link Input.SessionsCommitted} of
     * this id. The takeover's addresses wait for that answer, so no packet reaches this node for a flow
     * it does not know yet; its adverts and heartbeats do not (a table of a million sessions takes
     * seconds to write, and peers must hear the new active meanwhile). A small commit may be done
     * inline and answered at once: the addresses then go out first, as without session sync.
     */
    record CommitSessions(String why, long commit) implements Action {}

    record RemoveAddress(String iface, Cidr address) implements Action {}

    /** One round of gratuitous ARP (IPv4) / unsolicited neighbour advertisement (IPv6) for these addresses. */
    record Announce(String iface, List<IpAddress> addresses) implements Action {}

    record Record(HaEvent event) implements Action {}

    /** Send one heartbeat (state, effective priority) on every dedicated path to every peer. */
    record SendHeartbeat(NodeState state, int priority) implements Action {}

    /** Tell every peer this node's compare-mode path group results (they changed). */
    record SendHealth(Map<String, Boolean> pathGroups) implements Action {}

    /** Tell every peer over the channel that this node gave up the active role. */
    record SendRelease(String why) implements Action {}
}
