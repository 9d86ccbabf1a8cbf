package dev.tandem.core.vrrp;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tandem.core.net.IpAddress;

/** Garbage never crashes the decoder: it either accepts or rejects with a reason. */
class VrrpCodecFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void decodeNeverThrows(FuzzedDataProvider data) {
        boolean v6 = data.consumeBoolean();
        int ttl = data.consumeInt(0, 300);
        IpAddress src = IpAddress.parse(v6 ? "fe80::7" : "10.0.0.7");
        byte[] msg = data.consumeRemainingAsBytes();
        VrrpDecodeResult r = VrrpCodec.decode(msg, src, VrrpCodec.group(v6), ttl, v6);
        if (r instanceof VrrpDecodeResult.Accepted a) {
            // whatever we accept we can encode again, and it decodes to the same advert
            byte[] again = VrrpCodec.encode(a.advert(), src, ChecksumMode.RFC5798);
            VrrpDecodeResult r2 = VrrpCodec.decode(again, src, VrrpCodec.group(v6), 255, v6);
            if (!(r2 instanceof VrrpDecodeResult.Accepted a2) || !a2.advert().addresses().equals(a.advert().addresses())
                    || a2.advert().priority() != a.advert().priority()) {
                throw new IllegalStateException("re-encoding changed the advert");
            }
        } else if (((VrrpDecodeResult.Rejected) r).reason() == null) {
            throw new IllegalStateException("rejection without a reason");
        }
    }
}
