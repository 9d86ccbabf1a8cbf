package dev.tandem.core.vrrp;

/** The outcome of decoding one received packet: an advert, or a rejection with its reason. */
public sealed interface VrrpDecodeResult {

    record Accepted(VrrpAdvert advert) implements VrrpDecodeResult {}

    record Rejected(RejectReason reason, String detail) implements VrrpDecodeResult {
        @Override
        public String toString() {
            return reason + ": " + reason.text() + (detail.isEmpty() ? "" : " (" + detail + ")");
        }
    }
}
