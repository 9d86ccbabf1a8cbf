package dev.tandem.core.vrrp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.net.IpAddress;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class VrrpCodecTest {
    private static final IpAddress SRC4 = IpAddress.parse("10.10.1.1");
    private static final IpAddress SRC6 = IpAddress.parse("fe80::1");

    private static VrrpAdvert v4(int prio) {
        return new VrrpAdvert(51, prio, 1, List.of(IpAddress.parse("10.10.1.254"), IpAddress.parse("10.10.1.253")), true);
    }

    private static VrrpDecodeResult decode4(byte[] b, int ttl) {
        return VrrpCodec.decode(b, SRC4, VrrpCodec.GROUP_V4, ttl, false);
    }

    @Test
    void ipv4RoundTripWithPseudoHeaderChecksum() {
        byte[] b = VrrpCodec.encode(v4(200), SRC4, ChecksumMode.RFC5798);
        assertThat(b).hasSize(16);
        assertThat(b[0]).isEqualTo((byte) 0x31);
        VrrpDecodeResult r = decode4(b, 255);
        assertThat(r).isInstanceOf(VrrpDecodeResult.Accepted.class);
        VrrpAdvert a = ((VrrpDecodeResult.Accepted) r).advert();
        assertThat(a.vrid()).isEqualTo(51);
        assertThat(a.priority()).isEqualTo(200);
        assertThat(a.maxAdvertIntervalCs()).isEqualTo(1);
        assertThat(a.addresses()).containsExactly(IpAddress.parse("10.10.1.254"), IpAddress.parse("10.10.1.253"));
        assertThat(a.pseudoHeaderChecksum()).isTrue();
    }

    @Test
    void v2StyleChecksumIsAcceptedAndRecognised() {
        byte[] b = VrrpCodec.encode(v4(100), SRC4, ChecksumMode.V2);
        VrrpDecodeResult r = decode4(b, 255);
        assertThat(((VrrpDecodeResult.Accepted) r).advert().pseudoHeaderChecksum()).isFalse();
        // the two forms differ: a v2 checksum is not a valid RFC 5798 checksum
        assertThat(b).isNotEqualTo(VrrpCodec.encode(v4(100), SRC4, ChecksumMode.RFC5798));
    }

    @Test
    void knownKeepalivedPacketDecodes() {
        // VRRPv3 advert as captured from keepalived 2.2.7: VRID 51, prio 100, 1 cs, VIP 10.10.1.254,
        // from 10.10.1.2; checksum includes the IPv4 pseudo-header. Computed independently:
        byte[] b = HexFormat.of().parseHex("3133640100010000" + "0a0a01fe");
        long sum = 0x0a0a + 0x0102 + 0xe000 + 0x0012 + 0x0070 + 12 + 0x3133 + 0x6401 + 0x0001 + 0x0a0a + 0x01fe;
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        int ck = (int) (~sum & 0xffff);
        b[6] = (byte) (ck >> 8);
        b[7] = (byte) ck;
        VrrpDecodeResult r = VrrpCodec.decode(b, IpAddress.parse("10.10.1.2"), VrrpCodec.GROUP_V4, 255, false);
        assertThat(r).isInstanceOf(VrrpDecodeResult.Accepted.class);
        VrrpAdvert ours = new VrrpAdvert(51, 100, 1, List.of(IpAddress.parse("10.10.1.254")), true);
        assertThat(VrrpCodec.encode(ours, IpAddress.parse("10.10.1.2"), ChecksumMode.RFC5798)).isEqualTo(b);
    }

    @Test
    void ipv6RoundTripAlwaysUsesPseudoHeader() {
        VrrpAdvert a = new VrrpAdvert(7, 150, 30, List.of(IpAddress.parse("fd10:10:1::254")), true);
        byte[] b = VrrpCodec.encode(a, SRC6, ChecksumMode.V2);
        assertThat(b).hasSize(24);
        VrrpDecodeResult r = VrrpCodec.decode(b, SRC6, VrrpCodec.GROUP_V6, 255, true);
        VrrpAdvert d = ((VrrpDecodeResult.Accepted) r).advert();
        assertThat(d.pseudoHeaderChecksum()).isTrue();
        assertThat(d.addresses()).containsExactly(IpAddress.parse("fd10:10:1::254"));
        assertThat(d.maxAdvertIntervalCs()).isEqualTo(30);
    }

    private static RejectReason reason(VrrpDecodeResult r) {
        assertThat(r).isInstanceOf(VrrpDecodeResult.Rejected.class);
        return ((VrrpDecodeResult.Rejected) r).reason();
    }

    @Test
    void everyRejectionHasItsReason() {
        byte[] good = VrrpCodec.encode(v4(200), SRC4, ChecksumMode.RFC5798);
        assertThat(reason(decode4(new byte[7], 255))).isEqualTo(RejectReason.TOO_SHORT);
        assertThat(reason(decode4(good, 254))).isEqualTo(RejectReason.BAD_TTL);
        byte[] v2 = good.clone();
        v2[0] = 0x21;
        assertThat(reason(decode4(v2, 255))).isEqualTo(RejectReason.BAD_VERSION);
        byte[] type = good.clone();
        type[0] = 0x32;
        assertThat(reason(decode4(type, 255))).isEqualTo(RejectReason.BAD_TYPE);
        byte[] vrid0 = good.clone();
        vrid0[1] = 0;
        assertThat(reason(decode4(vrid0, 255))).isEqualTo(RejectReason.BAD_VRID);
        byte[] count0 = good.clone();
        count0[3] = 0;
        assertThat(reason(decode4(count0, 255))).isEqualTo(RejectReason.NO_ADDRESSES);
        byte[] count3 = good.clone();
        count3[3] = 3;
        assertThat(reason(decode4(count3, 255))).isEqualTo(RejectReason.BAD_LENGTH);
        byte[] zeroInt = good.clone();
        zeroInt[4] = 0;
        zeroInt[5] = 0;
        assertThat(reason(decode4(zeroInt, 255))).isEqualTo(RejectReason.ZERO_INTERVAL);
        byte[] flipped = good.clone();
        flipped[12] ^= 1;
        assertThat(reason(decode4(flipped, 255))).isEqualTo(RejectReason.BAD_CHECKSUM);
        assertThat(reason(VrrpCodec.decode(good, SRC6, VrrpCodec.GROUP_V4, 255, false)))
                .isEqualTo(RejectReason.FAMILY_MISMATCH);
        // a packet from another source fails the pseudo-header checksum, and the v2 form too
        assertThat(reason(VrrpCodec.decode(good, IpAddress.parse("10.10.1.9"), VrrpCodec.GROUP_V4, 255, false)))
                .isEqualTo(RejectReason.BAD_CHECKSUM);
        assertThat(decode4(good, 255).toString()).isNotBlank();
        assertThat(new VrrpDecodeResult.Rejected(RejectReason.BAD_TTL, "got 64").toString())
                .contains("BAD_TTL").contains("255").contains("got 64");
    }
}
