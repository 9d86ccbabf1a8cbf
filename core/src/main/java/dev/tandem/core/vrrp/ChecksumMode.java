package dev.tandem.core.vrrp;

/** How a VRRPv3 checksum is computed when sending. Both forms are always accepted on receive. */
public enum ChecksumMode {
    /** RFC 5798: over the IP pseudo-header and the VRRP message (keepalived, Wireshark). */
    RFC5798,
    /** Over the VRRP message only, as in VRRPv2 (keepalived's v3_checksum_as_v2, some routers). IPv4 only. */
    V2
}
