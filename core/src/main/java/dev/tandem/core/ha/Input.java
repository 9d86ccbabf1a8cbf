package dev.tandem.core.ha;

import dev.tandem.core.net.IpAddress;

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

    enum CommandKind { SUSPEND, RESUME, DEMOTE }
}
