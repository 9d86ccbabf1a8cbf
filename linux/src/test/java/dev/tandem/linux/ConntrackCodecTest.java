package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ConntrackCodecTest {

    static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A spread of entries: every family, the named protocols, NAT both ways, TCP info, mark, zone. */
    static List<ConntrackEntry> samples() {
        try {
            return sampleList();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<ConntrackEntry> sampleList() throws java.net.UnknownHostException {
        List<ConntrackEntry> out = new ArrayList<>();
        ConntrackEntry.TcpInfo est = new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.ESTABLISHED, 7, 9, 0x23, 0x03);
        // SNAT (masquerade): replies go to the router's address, another port
        out.add(new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.TCP,
                ConntrackEntry.Tuple.ports(ip("10.98.1.2"), ip("10.98.2.2"), 40000, 8080),
                ConntrackEntry.Tuple.ports(ip("10.98.2.2"), ip("10.98.2.1"), 8080, 1025),
                0x19e, 431999, 0xdeadbeef, 0, est, OptionalLong.of(0xfedcba98L)));
        // DNAT + SNAT over IPv6, UDP, zone
        out.add(new ConntrackEntry(ConntrackEntry.Family.IPV6, ConntrackEntry.UDP,
                ConntrackEntry.Tuple.ports(ip("fd98:1::2"), ip("fd98:1::1"), 5555, 53),
                ConntrackEntry.Tuple.ports(ip("fd98:2::2"), ip("fd98:2::1"), 5300, 5555),
                0x1be, 30, 0, 7, null, OptionalLong.empty()));
        out.add(ConntrackEntry.of(ConntrackEntry.ICMP,
                ConntrackEntry.Tuple.icmp(ip("192.0.2.1"), ip("192.0.2.2"), 0x1234, 8, 0), 30, null));
        out.add(ConntrackEntry.of(ConntrackEntry.ICMPV6,
                ConntrackEntry.Tuple.icmp(ip("2001:db8::1"), ip("2001:db8::2"), 77, 128, 0), 30, null));
        out.add(ConntrackEntry.of(ConntrackEntry.GRE,
                ConntrackEntry.Tuple.ports(ip("192.0.2.1"), ip("192.0.2.9"), 0x1111, 0x2222), 180, null));
        out.add(ConntrackEntry.of(ConntrackEntry.SCTP,
                ConntrackEntry.Tuple.ports(ip("192.0.2.1"), ip("192.0.2.9"), 2905, 2905), 180, null));
        // an unknown protocol (VRRP, 112): carried by number, no ports
        out.add(ConntrackEntry.of(112, ConntrackEntry.Tuple.addresses(ip("192.0.2.1"), ip("224.0.0.18")), 600, null));
        // an IPv4-mapped IPv6 address stays IPv6
        out.add(ConntrackEntry.of(ConntrackEntry.TCP,
                ConntrackEntry.Tuple.ports(ip("2001:db8::5"), java.net.Inet6Address.getByAddress(null,
                        new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 1, 2, 3, 4}, -1), 1, 2),
                60, new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.SYN_SENT, 0, 0, 0, 0)));
        return out;
    }

    private static ConntrackEntry asSent(ConntrackEntry e) {
        return e.withStatus(ConntrackCodec.requestStatus(e.status())).withoutId();
    }

    @Test
    void updateMessagesDecodeToTheSameEntry() {
        for (ConntrackEntry e : samples()) {
            assertThat(decode(ConntrackCodec.update(e, 5))).as(e.toString()).isEqualTo(asSent(e));
        }
    }

    @Test
    void createSendsTheUntranslatedReplyAndNatAttributes() throws Exception {
        ConntrackEntry snat = samples().getFirst();
        byte[] m = ConntrackCodec.create(snat, 9);
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.nativeOrder());
        assertThat(b.getInt(0)).isEqualTo(m.length);
        assertThat(b.getShort(4) & 0xffff).isEqualTo(0x100);
        assertThat(b.getShort(6) & 0xffff).isEqualTo(ConntrackCodec.NLM_F_REQUEST | ConntrackCodec.NLM_F_ACK
                | ConntrackCodec.NLM_F_CREATE | ConntrackCodec.NLM_F_EXCL);
        assertThat(b.getInt(8)).isEqualTo(9);
        assertThat(m[16]).isEqualTo((byte) Libc.AF_INET);
        // first attribute: CTA_TUPLE_ORIG, nested
        assertThat(b.getShort(22) & 0xffff).isEqualTo(ConntrackCodec.CTA_TUPLE_ORIG | ConntrackCodec.NLA_F_NESTED);
        // the reply tuple sent is the inverted original: the kernel applies CTA_NAT_SRC to it
        ConntrackEntry sent = ConntrackCodec.decode(m);
        assertThat(sent.reply()).isEqualTo(snat.original().inverted());
        // CTA_TIMEOUT: header in host order, 431999 = 0x0006977f big-endian
        byte[] timeout = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putShort((short) 8).putShort((short) 7)
                .order(ByteOrder.BIG_ENDIAN).putInt(431999).array();
        assertThat(indexOf(m, timeout)).as("CTA_TIMEOUT 431999 big-endian").isPositive();
        assertThat(containsNat(m, ConntrackCodec.CTA_NAT_SRC)).isTrue();
        assertThat(natTarget(m, ConntrackCodec.CTA_NAT_SRC))
                .isEqualTo(snat.reply().destination().getHostAddress() + ":" + snat.reply().destinationPort());
        // SNAT alone: the DST side gets an exact identity range (the original destination), not the kernel's null
        // binding, which would look the tuple up once more; a single address and port, no MAX attributes
        assertThat(natTarget(m, ConntrackCodec.CTA_NAT_DST))
                .isEqualTo(snat.original().destination().getHostAddress() + ":" + snat.original().destinationPort());
        // a new entry's mark is 0 already: no CTA_MARK; an update carries it (it may have to clear one)
        assertThat(hasTopLevel(m, ConntrackCodec.CTA_MARK)).isEqualTo(snat.mark() != 0);
        assertThat(hasTopLevel(ConntrackCodec.update(snat, 12), ConntrackCodec.CTA_MARK)).isTrue();
        ConntrackEntry both = samples().get(1);
        byte[] m2 = ConntrackCodec.create(both, 10);
        assertThat(containsNat(m2, ConntrackCodec.CTA_NAT_SRC)).isTrue();
        assertThat(containsNat(m2, ConntrackCodec.CTA_NAT_DST)).isTrue();
        // an update never carries NAT (the kernel refuses it on an existing entry) and has no CREATE/EXCL
        byte[] u = ConntrackCodec.update(both, 11);
        assertThat(containsNat(u, ConntrackCodec.CTA_NAT_SRC) || containsNat(u, ConntrackCodec.CTA_NAT_DST)).isFalse();
        assertThat(ByteBuffer.wrap(u).order(ByteOrder.nativeOrder()).getShort(6) & 0xffff)
                .isEqualTo(ConntrackCodec.NLM_F_REQUEST | ConntrackCodec.NLM_F_ACK);
        // status: CONFIRMED always, never EXPECTED or DYING
        ConntrackEntry odd = snat.withStatus(ConntrackEntry.IPS_EXPECTED | ConntrackEntry.IPS_DYING | ConntrackEntry.IPS_ASSURED);
        assertThat(ConntrackCodec.decode(ConntrackCodec.update(odd, 1)).status())
                .isEqualTo(ConntrackEntry.IPS_CONFIRMED | ConntrackEntry.IPS_ASSURED);
    }

    @Test
    void deleteCarriesOnlyTheOriginalTupleAndZone() throws Exception {
        ConntrackEntry e = samples().get(1);
        byte[] m = ConntrackCodec.delete(e, 3);
        assertThat(ByteBuffer.wrap(m).order(ByteOrder.nativeOrder()).getShort(4) & 0xffff).isEqualTo(0x102);
        assertThatThrownBy(() -> ConntrackCodec.decode(m)).isInstanceOf(ConntrackCodec.DecodeException.class)
                .hasMessage("no CTA_TUPLE_REPLY");
        assertThat(m.length).isLessThan(ConntrackCodec.update(e, 3).length);
    }

    @Test
    void eventTypesFollowTheKernelsFlags() throws Exception {
        ConntrackEntry e = samples().getFirst();
        byte[] m = ConntrackCodec.update(e, 0);
        assertThat(ConntrackCodec.decodeEvent(m, 0, m.length).type()).isEqualTo(ConntrackEvent.Type.UPDATE);
        byte[] n = ConntrackCodec.update(e, 0);
        n[7] |= (byte) ((ConntrackCodec.NLM_F_CREATE | ConntrackCodec.NLM_F_EXCL) >> 8);
        assertThat(ConntrackCodec.decodeEvent(n, 0, n.length).type()).isEqualTo(ConntrackEvent.Type.NEW);
        byte[] d = ConntrackCodec.update(e, 0);
        d[4] = 2;
        assertThat(ConntrackCodec.decodeEvent(d, 0, d.length).type()).isEqualTo(ConntrackEvent.Type.DESTROY);
    }

    @Test
    void garbageIsRejectedWithAReason() {
        byte[] good = ConntrackCodec.update(samples().getFirst(), 1);
        // every truncation, with the header length left as it was or fixed up
        for (int len = 0; len < good.length; len++) {
            byte[] t = java.util.Arrays.copyOf(good, len);
            expectDecodeException(t);
            if (len >= 4) {
                // cut at an attribute boundary after the tuples it is a valid, shorter message
                ByteBuffer.wrap(t).order(ByteOrder.nativeOrder()).putInt(0, len);
                try {
                    ConntrackEntry e = ConntrackCodec.decode(t);
                    assertThat(e.original()).isEqualTo(samples().getFirst().original());
                } catch (ConntrackCodec.DecodeException e) {
                    assertThat(e.getMessage()).isNotBlank();
                }
            }
        }
        // every single-byte corruption either decodes or is rejected: nothing else
        for (int i = 0; i < good.length; i++) {
            for (int v : new int[] {0, 1, 3, 4, 0x7f, 0x80, 0xff}) {
                byte[] c = good.clone();
                c[i] = (byte) v;
                try {
                    ConntrackCodec.decode(c);
                } catch (ConntrackCodec.DecodeException e) {
                    assertThat(e.getMessage()).isNotBlank();
                }
            }
        }
        assertThatThrownBy(() -> ConntrackCodec.decode(new byte[3])).hasMessageContaining("shorter than nlmsghdr");
        byte[] wrongType = good.clone();
        wrongType[5] = 2; // subsystem 2 (ctnetlink_exp)
        assertThatThrownBy(() -> ConntrackCodec.decode(wrongType)).hasMessageContaining("is not IPCTNL_MSG_CT_NEW");
        byte[] wrongFamily = good.clone();
        wrongFamily[16] = (byte) Libc.AF_INET6;
        assertThatThrownBy(() -> ConntrackCodec.decode(wrongFamily)).hasMessageContaining("an IPv4 address in an IPV6 message");
        byte[] longAttr = good.clone();
        ByteBuffer.wrap(longAttr).order(ByteOrder.nativeOrder()).putShort(20, (short) 0x7000);
        assertThatThrownBy(() -> ConntrackCodec.decode(longAttr)).hasMessageContaining("does not fit");
        assertThatThrownBy(() -> ConntrackCodec.forEachMessage(good, good.length + 1, (a, b, c, d, e, f) -> { }))
                .isInstanceOf(ConntrackCodec.DecodeException.class);
        byte[] twoAndJunk = java.util.Arrays.copyOf(good, good.length * 2 + 16);
        System.arraycopy(good, 0, twoAndJunk, good.length, good.length);
        ByteBuffer.wrap(twoAndJunk).order(ByteOrder.nativeOrder()).putInt(good.length * 2, 4096);
        List<Integer> seen = new ArrayList<>();
        assertThatThrownBy(() -> ConntrackCodec.forEachMessage(twoAndJunk, twoAndJunk.length,
                (a, b, c, d, off, len) -> seen.add(off))).hasMessageContaining("nlmsg_len 4096");
        assertThat(seen).containsExactly(0, good.length);
    }

    @Test
    void parsingSpeed() throws Exception {
        byte[] m = ConntrackCodec.update(samples().getFirst(), 1);
        m[7] |= (byte) ((ConntrackCodec.NLM_F_CREATE | ConntrackCodec.NLM_F_EXCL) >> 8);
        long sink = 0;
        for (int i = 0; i < 200_000; i++) { // warm-up
            sink += ConntrackCodec.decodeEvent(m, 0, m.length).entry().original().sourcePort();
        }
        int n = 1_000_000;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            sink += ConntrackCodec.decodeEvent(m, 0, m.length).entry().original().sourcePort();
        }
        long t1 = System.nanoTime();
        System.out.printf("conntrack: parsed %d %d-byte TCP events in %.0f ms: %.2f M events/s (one thread)%n", n, m.length,
                (t1 - t0) / 1e6, n / ((t1 - t0) / 1e9) / 1e6);
        assertThat(sink).isPositive();
    }

    private static void expectDecodeException(byte[] b) {
        assertThatThrownBy(() -> ConntrackCodec.decode(b)).isInstanceOf(ConntrackCodec.DecodeException.class);
    }

    private static ConntrackEntry decode(byte[] m) {
        try {
            return ConntrackCodec.decode(m);
        } catch (ConntrackCodec.DecodeException e) {
            throw new AssertionError(e);
        }
    }

    /** True when a top-level attribute of this type is present (walks the message's attributes). */
    /** "address:port" of a CTA_NAT_* nest (MIN only: MAX attributes must be absent). */
    private static String natTarget(byte[] m, int type) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.nativeOrder());
        for (int p = 20; p + 4 <= m.length; p += (b.getShort(p) + 3) & ~3) {
            if ((b.getShort(p + 2) & 0x3fff) != type) {
                continue;
            }
            int end = p + (b.getShort(p) & 0xffff);
            String addr = null;
            int port = -1;
            for (int q = p + 4; q + 4 <= end; q += (b.getShort(q) + 3) & ~3) {
                int t = b.getShort(q + 2) & 0x3fff;
                int len = b.getShort(q) & 0xffff;
                if (t == ConntrackCodec.CTA_NAT_V4_MINIP || t == ConntrackCodec.CTA_NAT_V6_MINIP) {
                    addr = java.net.InetAddress.getByAddress(java.util.Arrays.copyOfRange(m, q + 4, q + len)).getHostAddress();
                } else if (t == ConntrackCodec.CTA_NAT_PROTO) {
                    int r = q + 4;
                    assertThat(b.getShort(r + 2) & 0x3fff).isEqualTo(ConntrackCodec.CTA_PROTONAT_PORT_MIN);
                    assertThat(r + ((b.getShort(r) + 3) & ~3)).as("only PORT_MIN in CTA_NAT_PROTO").isEqualTo(q + len);
                    port = (m[r + 4] & 0xff) << 8 | (m[r + 5] & 0xff);
                } else {
                    throw new AssertionError("unexpected attribute " + t + " in CTA_NAT nest " + type);
                }
            }
            return addr + ":" + port;
        }
        return null;
    }

    private static boolean hasTopLevel(byte[] m, int type) {
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.nativeOrder());
        for (int p = 20; p + 4 <= m.length; p += (b.getShort(p) + 3) & ~3) {
            if ((b.getShort(p + 2) & 0x3fff) == type) {
                return true;
            }
        }
        return false;
    }

    private static boolean containsNat(byte[] m, int type) {
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.nativeOrder());
        for (int p = 20; p + 4 <= m.length; ) {
            int len = b.getShort(p) & 0xffff;
            if ((b.getShort(p + 2) & 0x3fff) == type) {
                assertThat(b.getShort(p + 2) & ConntrackCodec.NLA_F_NESTED).isNotZero();
                return true;
            }
            p += (len + 3) & ~3;
        }
        return false;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
