package dev.tandem.core.vrrp;

/** Why a received VRRP packet was dropped. Every rejection is counted and logged with one of these. */
public enum RejectReason {
    TOO_SHORT("shorter than the 8-byte VRRP header"),
    BAD_TTL("TTL/hop limit is not 255 (the packet crossed a router)"),
    BAD_VERSION("not VRRP version 3"),
    BAD_TYPE("not an ADVERTISEMENT (type 1)"),
    BAD_VRID("VRID 0 is invalid"),
    NO_ADDRESSES("address count is 0"),
    BAD_LENGTH("length does not match the address count"),
    ZERO_INTERVAL("max advertisement interval is 0"),
    BAD_CHECKSUM("checksum wrong in both the RFC 5798 and the v2 form"),
    FAMILY_MISMATCH("address family of the packet does not match the socket"),
    UNKNOWN_VRID("no virtual group with this VRID on this interface"),
    OWN_PACKET("sent by this node (looped back)");

    private final String text;

    RejectReason(String text) {
        this.text = text;
    }

    public String text() {
        return text;
    }
}
