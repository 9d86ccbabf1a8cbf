package dev.tandem.node.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.net.Cidr;
import dev.tandem.core.sync.SessionChange;
import dev.tandem.linux.ConntrackCodec;
import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackEvent;
import dev.tandem.linux.ConntrackView;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The event reader's allocation-free path (a ctnetlink message decoded into a reused view, keys and
 * values encoded from it, filters on raw bytes) gives exactly the changes of the entry path.
 */
class SessionViewTest {

    private static InetAddress ip(String s) {
        return InetAddress.ofLiteral(s);
    }

    /** ::ffff:10.1.2.3 kept IPv6 (InetAddress.ofLiteral would make it IPv4). */
    private static InetAddress mapped() throws Exception {
        return java.net.Inet6Address.getByAddress(null, new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 1, 2, 3}, -1);
    }

    static List<ConntrackEntry> entries() throws Exception {
        return List.of(SyncCodecTest.snatTcp(),
                new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.UDP,
                        ConntrackEntry.Tuple.ports(ip("10.10.1.7"), ip("8.8.8.8"), 5353, 53),
                        ConntrackEntry.Tuple.ports(ip("8.8.8.8"), ip("10.10.1.7"), 53, 5353),
                        ConntrackEntry.IPS_CONFIRMED, 30, 0, 3, null, OptionalLong.empty()),
                new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.ICMP,
                        ConntrackEntry.Tuple.icmp(ip("10.10.1.7"), ip("10.10.2.100"), 777, 8, 0),
                        ConntrackEntry.Tuple.icmp(ip("10.10.2.100"), ip("10.10.2.254"), 777, 0, 0),
                        ConntrackEntry.IPS_CONFIRMED | ConntrackEntry.IPS_SRC_NAT, 30, -5, 0, null, OptionalLong.of(4)),
                new ConntrackEntry(ConntrackEntry.Family.IPV6, ConntrackEntry.TCP,
                        ConntrackEntry.Tuple.ports(ip("2001:db8::7"), mapped(), 40000, 443),
                        ConntrackEntry.Tuple.ports(mapped(), ip("2001:db8::7"), 443, 40000),
                        ConntrackEntry.IPS_CONFIRMED | ConntrackEntry.IPS_ASSURED, 432000, 0xffffffff, 65535,
                        new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.TIME_WAIT, 14, 0, 0x0b, 0x03), OptionalLong.empty()),
                new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.GRE,
                        ConntrackEntry.Tuple.ports(ip("10.10.1.8"), ip("10.10.2.9"), 1, 2),
                        ConntrackEntry.Tuple.ports(ip("10.10.2.9"), ip("10.10.1.8"), 2, 1),
                        ConntrackEntry.IPS_CONFIRMED, 0xffffffffL, 0, 0, null, OptionalLong.empty()));
    }

    /** The message the kernel would send for e as an event of this type (UPDATE-shaped: both tuples as they are). */
    private static byte[] message(ConntrackEntry e, ConntrackEvent.Type type) {
        byte[] m = ConntrackCodec.update(e, 1);
        int t = type == ConntrackEvent.Type.DESTROY ? ConntrackCodec.CT_DELETE : ConntrackCodec.CT_NEW;
        int flags = type == ConntrackEvent.Type.NEW ? ConntrackCodec.NLM_F_CREATE : 0;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(m).order(java.nio.ByteOrder.nativeOrder());
        b.putShort(4, (short) t).putShort(6, (short) flags);
        return m;
    }

    @Test
    void keysAndValuesFromAViewAreTheEntrysBytes() throws Exception {
        ConntrackView v = new ConntrackView();
        for (ConntrackEntry e : entries()) {
            for (ConntrackEvent.Type type : ConntrackEvent.Type.values()) {
                byte[] m = message(e, type);
                ConntrackCodec.decodeInto(m, 0, m.length, v);
                ConntrackEvent ev = ConntrackCodec.decodeEvent(m, 0, m.length);
                assertThat(v.type()).isEqualTo(type).isEqualTo(ev.type());
                assertThat(v.toEntry()).isEqualTo(ev.entry());
                assertThat(SessionCodec.key(v)).isEqualTo(SessionCodec.key(ev.entry()));
                assertThat(SessionCodec.value(v)).isEqualTo(SessionCodec.value(ev.entry()));
            }
        }
    }

    @Test
    void theSyncFiltersDecideAlikeOnViewsAndEntries() throws Exception {
        SessionSync sync = new SessionSync(new SessionSync.Settings("fw1", null, 0, List.of(), Map.of(),
                Set.of(ConntrackEntry.TCP, ConntrackEntry.ICMP, ConntrackEntry.GRE),
                Set.of("10.10.2.254", "2001:db8:0:0:0:0:0:7"), 1000, 0,
                List.of(Cidr.parse("10.10.1.8/31"), Cidr.parse("8.8.0.0/15"))), (k, t) -> { }, i -> { });
        ConntrackView v = new ConntrackView();
        int kept = 0;
        for (ConntrackEntry e : entries()) {
            for (ConntrackEvent.Type type : ConntrackEvent.Type.values()) {
                byte[] m = message(e, type);
                ConntrackCodec.decodeInto(m, 0, m.length, v);
                SessionChange a = sync.change(v);
                SessionChange b = sync.change(ConntrackCodec.decodeEvent(m, 0, m.length));
                assertThat(a).isEqualTo(b);
                kept += a == null ? 0 : 1;
            }
        }
        // UDP is not synced, the IPv6 flow comes from an own address, the GRE one from an ignored network;
        // the SNAT TCP and ICMP flows pass (their reply goes to the VIP: translated traffic, not the firewall's own)
        assertThat(kept).isEqualTo(2 * 3);
        SessionSync open = new SessionSync(new SessionSync.Settings("fw1", null, 0, List.of(), Map.of(),
                Set.of(ConntrackEntry.TCP, ConntrackEntry.UDP, ConntrackEntry.ICMP, ConntrackEntry.GRE), Set.of(), 1000, 0,
                List.of()), (k, t) -> { }, i -> { });
        for (ConntrackEntry e : entries()) {
            byte[] m = message(e, ConntrackEvent.Type.UPDATE);
            ConntrackCodec.decodeInto(m, 0, m.length, v);
            assertThat(open.change(v)).isNotNull().isEqualTo(open.change(ConntrackCodec.decodeEvent(m, 0, m.length)));
        }
    }

    /**
     * A UDP service on the LAN VIP (a VPN's port, say) and the node's own DNS query from its LAN address: with
     * cluster.sessions.local the first is synced (it moves with the VIP), the second never is; without it
     * neither is.
     */
    @Test
    void theFirewallsOwnTrafficOnAVirtualAddressIsSyncedOnlyWhenAskedAndOnItsOwnAddressesNever() throws Exception {
        ConntrackEntry toVip = new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.UDP,
                ConntrackEntry.Tuple.ports(ip("10.10.1.7"), ip("10.10.1.254"), 40000, 4500),
                ConntrackEntry.Tuple.ports(ip("10.10.1.254"), ip("10.10.1.7"), 4500, 40000),
                ConntrackEntry.IPS_CONFIRMED, 120, 0, 0, null, OptionalLong.empty());
        ConntrackEntry fromNode = new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.UDP,
                ConntrackEntry.Tuple.ports(ip("10.10.1.1"), ip("10.10.1.53"), 33000, 53),
                ConntrackEntry.Tuple.ports(ip("10.10.1.53"), ip("10.10.1.1"), 53, 33000),
                ConntrackEntry.IPS_CONFIRMED, 30, 0, 0, null, OptionalLong.empty());
        // fw1 is active: the VIP is on its LAN interface beside its own address
        Set<String> interfaces = Set.of("10.10.1.1", "10.10.1.254", "10.10.4.1");
        Set<String> vips = Set.of("10.10.1.254", "10.10.2.254");
        assertThat(SessionSync.ownTraffic(interfaces, vips, false))
                .containsExactlyInAnyOrder("10.10.1.1", "10.10.1.254", "10.10.2.254", "10.10.4.1");
        assertThat(SessionSync.ownTraffic(interfaces, vips, true)).containsExactlyInAnyOrder("10.10.1.1", "10.10.4.1");
        ConntrackView v = new ConntrackView();
        for (boolean local : new boolean[]{false, true}) {
            SessionSync sync = new SessionSync(new SessionSync.Settings("fw1", null, 0, List.of(), Map.of(),
                    Set.of(ConntrackEntry.UDP), SessionSync.ownTraffic(interfaces, vips, local), 1000, 0, List.of()),
                    (k, t) -> { }, i -> { });
            for (ConntrackEntry e : List.of(toVip, fromNode)) {
                byte[] m = message(e, ConntrackEvent.Type.NEW);
                ConntrackCodec.decodeInto(m, 0, m.length, v);
                boolean synced = e == toVip && local;
                assertThat(sync.change(v) != null).as("view, local " + local + ": " + e).isEqualTo(synced);
                assertThat(sync.change(ConntrackCodec.decodeEvent(m, 0, m.length)) != null).as("entry").isEqualTo(synced);
            }
        }
    }
}
