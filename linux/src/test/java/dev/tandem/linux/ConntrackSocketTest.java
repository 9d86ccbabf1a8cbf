package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** ctnetlink against the kernel: real flows through a NAT router, injection elsewhere, a 100,000-entry batch. */
class ConntrackSocketTest {
    private static NatRouter lab;

    @BeforeAll
    static void up() {
        lab = new NatRouter();
    }

    @AfterAll
    static void down() {
        if (lab != null) {
            lab.close();
        }
    }

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void realFlowsGiveEventsAndDumpWithNatAndReplayInAnotherNamespace() throws Exception {
        LinkedBlockingQueue<ConntrackEvent> events = new LinkedBlockingQueue<>();
        AtomicInteger overruns = new AtomicInteger();
        ConntrackSocket router = Netns.callIn(lab.router, ConntrackSocket::open);
        List<AutoCloseable> open = new ArrayList<>();
        try {
            Netns.callIn(lab.router, () -> router.events(EnumSet.allOf(ConntrackEvent.Type.class),
                    ConntrackEvents.listener(events::add, overruns::incrementAndGet)));

            // TCP over IPv4 and IPv6 (masqueraded), UDP with DNAT + masquerade
            ServerSocketChannel tcp4 = Netns.callIn(lab.server, () -> ServerSocketChannel.open()
                    .bind(new InetSocketAddress(ip("10.98.2.2"), 8080)));
            ServerSocketChannel tcp6 = Netns.callIn(lab.server, () -> ServerSocketChannel.open()
                    .bind(new InetSocketAddress(ip("fd98:2::2"), 8080)));
            DatagramChannel udpServer = Netns.callIn(lab.server, () -> DatagramChannel.open()
                    .bind(new InetSocketAddress(ip("10.98.2.2"), 5300)));
            open.addAll(List.of(tcp4, tcp6, udpServer));
            SocketChannel c4 = Netns.callIn(lab.client, () -> SocketChannel.open(new InetSocketAddress(ip("10.98.2.2"), 8080)));
            SocketChannel c6 = Netns.callIn(lab.client, () -> SocketChannel.open(new InetSocketAddress(ip("fd98:2::2"), 8080)));
            open.addAll(List.of(c4, c6));
            SocketChannel s4 = tcp4.accept();
            SocketChannel s6 = tcp6.accept();
            open.addAll(List.of(s4, s6));
            for (SocketChannel[] pair : new SocketChannel[][] {{c4, s4}, {c6, s6}}) {
                pair[0].write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
                pair[1].read(ByteBuffer.allocate(16));
                pair[1].write(ByteBuffer.wrap("world".getBytes(StandardCharsets.US_ASCII)));
                pair[0].read(ByteBuffer.allocate(16));
            }
            DatagramChannel udpClient = Netns.callIn(lab.client, () -> DatagramChannel.open()
                    .bind(new InetSocketAddress(ip("10.98.1.2"), 0)));
            open.add(udpClient);
            udpServer.socket().setSoTimeout(5000);
            udpClient.socket().setSoTimeout(5000);
            udpClient.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), new InetSocketAddress(ip("10.98.1.1"), 5353));
            DatagramPacket q = new DatagramPacket(new byte[64], 64);
            udpServer.socket().receive(q);
            assertThat(q.getAddress()).as("masqueraded towards the server").isEqualTo(ip("10.98.2.1"));
            udpServer.socket().send(new DatagramPacket(new byte[] {4}, 1, q.getSocketAddress()));
            DatagramPacket r = new DatagramPacket(new byte[64], 64);
            udpClient.socket().receive(r);
            assertThat(r.getAddress()).as("the reply is un-DNATed").isEqualTo(ip("10.98.1.1"));

            TwoHosts.sh("ip", "netns", "exec", lab.client, "ping", "-c", "1", "-W", "2", "10.98.2.2");
            int p4 = ((InetSocketAddress) c4.getLocalAddress()).getPort();
            int p6 = ((InetSocketAddress) c6.getLocalAddress()).getPort();
            int pu = ((InetSocketAddress) udpClient.getLocalAddress()).getPort();
            Predicate<ConntrackEntry> isTcp4 = e -> e.protocol() == ConntrackEntry.TCP
                    && e.original().sourcePort() == p4 && e.original().source().equals(uncheck("10.98.1.2"));
            Predicate<ConntrackEntry> isTcp6 = e -> e.protocol() == ConntrackEntry.TCP
                    && e.original().sourcePort() == p6 && e.family() == ConntrackEntry.Family.IPV6;
            Predicate<ConntrackEntry> isUdp = e -> e.protocol() == ConntrackEntry.UDP && e.original().sourcePort() == pu;

            // events: NEW for every flow, UPDATE to ESTABLISHED for TCP, UPDATE (reply seen) for UDP
            awaitEvent(events, ConntrackEvent.Type.NEW, isTcp4);
            awaitEvent(events, ConntrackEvent.Type.NEW, isTcp6);
            awaitEvent(events, ConntrackEvent.Type.NEW, isUdp);
            awaitEvent(events, ConntrackEvent.Type.UPDATE,
                    isTcp4.and(e -> e.tcp() != null && e.tcp().state() == ConntrackEntry.TcpInfo.ESTABLISHED));
            awaitEvent(events, ConntrackEvent.Type.UPDATE,
                    isUdp.and(e -> (e.status() & ConntrackEntry.IPS_SEEN_REPLY) != 0));

            // dump: both families, NAT in the reply tuples
            List<ConntrackEntry> dump = router.dump();
            ConntrackEntry t4 = only(dump, isTcp4);
            ConntrackEntry t6 = only(dump, isTcp6);
            ConntrackEntry u = only(dump, isUdp);
            ConntrackEntry icmp = only(dump, e -> e.protocol() == ConntrackEntry.ICMP);
            assertThat(icmp.original().icmpType()).isEqualTo(8);
            assertThat(icmp.reply().icmpType()).isZero();
            assertThat(icmp.reply().destination()).isEqualTo(ip("10.98.2.1"));
            assertThat(icmp.isSourceNat()).isTrue();
            assertThat(t4.original()).isEqualTo(ConntrackEntry.Tuple.ports(ip("10.98.1.2"), ip("10.98.2.2"), p4, 8080));
            assertThat(t4.reply().source()).isEqualTo(ip("10.98.2.2"));
            assertThat(t4.reply().destination()).isEqualTo(ip("10.98.2.1"));
            assertThat(t4.isSourceNat()).isTrue();
            assertThat(t4.isDestinationNat()).isFalse();
            assertThat(t4.status() & ConntrackEntry.IPS_SRC_NAT).isNotZero();
            assertThat(t4.tcp().state()).isEqualTo(ConntrackEntry.TcpInfo.ESTABLISHED);
            assertThat(t4.timeoutSeconds()).isGreaterThan(1000);
            assertThat(t4.id()).isPresent();
            assertThat(t6.reply().destination()).isEqualTo(ip("fd98:2::1"));
            assertThat(t6.isSourceNat()).isTrue();
            assertThat(u.original().destination()).isEqualTo(ip("10.98.1.1"));
            assertThat(u.original().destinationPort()).isEqualTo(5353);
            assertThat(u.reply().source()).isEqualTo(ip("10.98.2.2"));
            assertThat(u.reply().sourcePort()).isEqualTo(5300);
            assertThat(u.reply().destination()).isEqualTo(ip("10.98.2.1"));
            assertThat(u.isDestinationNat()).isTrue();
            assertThat(u.isSourceNat()).isTrue();
            assertThat(u.status() & (ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_DST_NAT))
                    .isEqualTo(ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_DST_NAT);

            // replay into a fresh namespace: conntrack(8) there shows the same tuples, NAT included
            String peer = lab.fresh("peer");
            List<ConntrackEntry> synced = List.of(t4, t6, u, icmp);
            ConntrackSocket.BatchResult created = Netns.callIn(peer, () -> {
                try (ConntrackSocket s = ConntrackSocket.open()) {
                    return s.create(synced);
                }
            });
            assertThat(created.failures()).isEmpty();
            String list4 = TwoHosts.sh("ip", "netns", "exec", peer, "conntrack", "-L", "-f", "ipv4");
            String list6 = TwoHosts.sh("ip", "netns", "exec", peer, "conntrack", "-L", "-f", "ipv6");
            assertThat(line(list4, "sport=" + p4 + " dport=8080"))
                    .contains("tcp", "ESTABLISHED", "src=10.98.1.2 dst=10.98.2.2 sport=" + p4 + " dport=8080 "
                            + "src=10.98.2.2 dst=10.98.2.1 sport=8080 dport=" + t4.reply().destinationPort(), "[ASSURED]");
            assertThat(line(list6, "sport=" + p6 + " dport=8080"))
                    .contains("src=fd98:1::2 dst=fd98:2::2 sport=" + p6 + " dport=8080 "
                            + "src=fd98:2::2 dst=fd98:2::1 sport=8080 dport=" + t6.reply().destinationPort());
            assertThat(line(list4, "dport=5353"))
                    .contains("udp", "src=10.98.1.2 dst=10.98.1.1 sport=" + pu + " dport=5353 "
                            + "src=10.98.2.2 dst=10.98.2.1 sport=5300 dport=" + u.reply().destinationPort());

            assertThat(line(list4, "type=8"))
                    .contains("icmp", "src=10.98.1.2 dst=10.98.2.2 type=8 code=0 id=" + icmp.original().icmpId() + " "
                            + "src=10.98.2.2 dst=10.98.2.1 type=0 code=0 id=" + icmp.reply().icmpId());

            try (ConntrackSocket s = Netns.callIn(peer, ConntrackSocket::open)) {
                List<ConntrackEntry> there = s.dump();
                assertThat(there).hasSize(4);
                for (ConntrackEntry e : synced) {
                    ConntrackEntry copy = only(there, e::sameFlow);
                    assertThat(copy.status() & natBits(e)).as("the kernel set up NAT for " + e).isEqualTo(natBits(e));
                    assertThat(copy.tcp()).isEqualTo(e.tcp());
                }
                // a second create of the same entries: every one refused with EEXIST, mapped to its entry
                ConntrackSocket.BatchResult again = s.create(List.of(t6, u));
                assertThat(again.failures()).extracting(ConntrackSocket.Failure::errno).containsOnly(Errno.EEXIST);
                assertThat(again.failures()).extracting(ConntrackSocket.Failure::entry).containsExactly(t6, u);
                // update changes the mark and the timeout
                assertThat(s.update(List.of(t4.withMark(0x2a).withTimeout(777))).failures()).isEmpty();
                ConntrackEntry updated = only(s.dump(), t4::sameFlow);
                assertThat(updated.mark()).isEqualTo(0x2a);
                assertThat(updated.timeoutSeconds()).isBetween(770L, 777L);
                assertThat(s.delete(u)).isTrue();
                assertThat(s.delete(u)).isFalse();
                s.flush();
                assertThat(s.dump()).isEmpty();
            }

            // DESTROY: delete the TCP entry on the router, then flush
            events.clear();
            assertThat(router.delete(t4)).isTrue();
            awaitEvent(events, ConntrackEvent.Type.DESTROY, isTcp4);
            router.flush();
            awaitEvent(events, ConntrackEvent.Type.DESTROY, isUdp);
            assertThat(overruns.get()).isZero();

            // failover: a standby router that forwards nothing new and has no NAT rules gets the entries
            // first, then the links and addresses; the open connections go on through it, translated
            String standby = lab.fresh("standby");
            lab.prepareStandby(standby);
            ConntrackSocket.BatchResult injected = Netns.callIn(standby, () -> {
                try (ConntrackSocket s = ConntrackSocket.open()) {
                    return s.create(List.of(t4, t6, u));
                }
            });
            assertThat(injected.failures()).isEmpty();
            lab.moveLinksTo(standby);
            for (SocketChannel[] pair : new SocketChannel[][] {{c4, s4}, {c6, s6}}) {
                pair[1].socket().setSoTimeout(5000);
                pair[0].socket().setSoTimeout(5000);
                pair[0].write(ByteBuffer.wrap("after".getBytes(StandardCharsets.US_ASCII)));
                byte[] got = new byte[16];
                assertThat(pair[1].socket().getInputStream().read(got)).as("the server hears the client through the standby")
                        .isEqualTo(5);
                pair[1].write(ByteBuffer.wrap("over".getBytes(StandardCharsets.US_ASCII)));
                assertThat(pair[0].socket().getInputStream().read(got)).as("and the client the server").isEqualTo(4);
            }
            udpClient.send(ByteBuffer.wrap(new byte[] {5}), new InetSocketAddress(ip("10.98.1.1"), 5353));
            DatagramPacket q2 = new DatagramPacket(new byte[64], 64);
            udpServer.socket().receive(q2);
            assertThat(q2.getSocketAddress()).as("DNAT and masquerade by the injected entry")
                    .isEqualTo(new InetSocketAddress(ip("10.98.2.1"), u.reply().destinationPort()));
            udpServer.socket().send(new DatagramPacket(new byte[] {6}, 1, q2.getSocketAddress()));
            DatagramPacket r2 = new DatagramPacket(new byte[64], 64);
            udpClient.socket().receive(r2);
            assertThat(r2.getSocketAddress()).isEqualTo(new InetSocketAddress(ip("10.98.1.1"), 5353));
        } finally {
            router.close();
            for (AutoCloseable c : open) {
                c.close();
            }
        }
    }

    private static int natBits(ConntrackEntry e) {
        return (e.isSourceNat() ? ConntrackEntry.IPS_SRC_NAT : 0) | (e.isDestinationNat() ? ConntrackEntry.IPS_DST_NAT : 0);
    }

    /** Item i of the loader tests: a TCP flow 10.77.x.y:p -> 192.0.2.7:443, source-NATed to 198.51.100.1. */
    private static ConntrackView loadFlow(int i, ConntrackView v) {
        byte[] a = {10, 77, (byte) (i >>> 8), (byte) i, (byte) 192, 0, 2, 7};
        byte[] r = {(byte) 192, 0, 2, 7, (byte) 198, 51, 100, 1};
        v.entry(ConntrackEntry.Family.IPV4, ConntrackEntry.TCP, ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED,
                600, 0, 0);
        v.tuple(ConntrackView.ORIGINAL, a, 0, 40_000, 443, 0, 0, 0);
        v.tuple(ConntrackView.REPLY, r, 0, 443, 1024 + i, 0, 0, 0);
        return v.tcp(ConntrackEntry.TcpInfo.ESTABLISHED, 7, 7, 0x03, 0x03);
    }

    @Test
    void aPipelinedBatchSkipsWhatDoesNotLoadAndNamesEachRefusedEntry() throws Exception {
        String ns = lab.fresh("loader");
        int n = ConntrackSocket.PIPELINE_MIN_ENTRIES * 3; // several datagrams, encoded on the second thread
        List<Integer> items = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            items.add(i);
        }
        List<Integer> present = List.of(5, n / 2, n - 1); // in the kernel already: EEXIST, in different datagrams
        try (ConntrackSocket s = Netns.callIn(ns, ConntrackSocket::open)) {
            s.flush();
            for (int i : present) {
                assertThat(s.create(List.of(loadFlow(i, new ConntrackView()).toEntry())).ok()).isTrue();
            }
            ConntrackSocket.BatchResult r = s.create(items, (i, v) -> {
                if (i % 1000 == 7) {
                    return false; // e.g. an undecodable cached value
                }
                loadFlow(i, v);
                return true;
            });
            int skipped = (int) items.stream().filter(i -> i % 1000 == 7).count();
            assertThat(r.skipped()).isEqualTo(skipped);
            assertThat(r.attempted()).isEqualTo(n - skipped);
            assertThat(r.failures()).extracting(ConntrackSocket.Failure::errno).containsOnly(Errno.EEXIST);
            assertThat(r.failures()).extracting(ConntrackSocket.Failure::entry)
                    .containsExactlyElementsOf(present.stream().map(i -> loadFlow(i, new ConntrackView()).toEntry()).toList());
            List<ConntrackEntry> all = s.dump();
            assertThat(all).hasSize(n - skipped);
            // what the kernel holds is what the views said: the translated reply tuple, NAT included
            ConntrackEntry e = all.stream().filter(x -> x.original().equals(loadFlow(123, new ConntrackView()).toEntry().original()))
                    .findFirst().orElseThrow();
            assertThat(e.reply()).isEqualTo(loadFlow(123, new ConntrackView()).toEntry().reply());
            assertThat(e.isSourceNat()).isTrue();
            assertThat(e.isDestinationNat()).isFalse();
            assertThat(e.status() & ConntrackEntry.IPS_SRC_NAT).isNotZero();
            assertThat(e.status() & ConntrackEntry.IPS_DST_NAT).isZero();

            // a loader that throws stops the batch with its exception; the socket still works afterwards
            s.flush();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.create(items, (i, v) -> {
                if (i == n / 3) {
                    throw new IllegalArgumentException("item " + i + " is broken");
                }
                loadFlow(i, v);
                return true;
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("item " + n / 3 + " is broken");
            assertThat(s.dump().size()).isLessThanOrEqualTo(n / 3);
            s.flush();
            assertThat(s.create(List.of(loadFlow(1, new ConntrackView()).toEntry())).ok()).isTrue();
            assertThat(s.dump()).hasSize(1);
            s.flush();
        }
    }

    @Test
    void createsOneHundredThousandEntriesInOneCall() throws Exception {
        String ns = lab.fresh("bulk");
        int n = 100_000;
        long max = Long.parseLong(TwoHosts.sh("ip", "netns", "exec", ns, "cat", "/proc/sys/net/netfilter/nf_conntrack_max")
                .trim());
        if (max != 0 && max < n + 1000) {
            // writable only in the initial namespace on recent kernels; try the namespace's own first
            try {
                TwoHosts.sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.netfilter.nf_conntrack_max=" + (2 * n));
                max = 2L * n;
            } catch (IllegalStateException e) {
                Assumptions.abort("nf_conntrack_max is " + max + " and cannot be raised in a namespace: " + e.getMessage());
            }
        }
        List<ConntrackEntry> entries = new ArrayList<>(n);
        InetAddress server4 = ip("192.0.2.1");
        InetAddress server6 = ip("2001:db8::1");
        for (int i = 0; i < n; i++) {
            if (i % 10 == 0) {
                byte[] a = ip("2001:db8:1::").getAddress();
                a[13] = (byte) (i >>> 16);
                a[14] = (byte) (i >>> 8);
                a[15] = (byte) i;
                entries.add(ConntrackEntry.of(ConntrackEntry.UDP,
                        ConntrackEntry.Tuple.ports(InetAddress.getByAddress(a), server6, 1024 + i % 60000, 53), 120, null));
            } else {
                InetAddress client = InetAddress.getByAddress(new byte[] {10, (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
                entries.add(ConntrackEntry.of(ConntrackEntry.TCP,
                        ConntrackEntry.Tuple.ports(client, server4, 1024 + i % 60000, 443), 3600,
                        new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.ESTABLISHED, 7, 7, 0x03, 0x03)));
            }
        }
        AtomicLong seen = new AtomicLong();
        AtomicLong overruns = new AtomicLong();
        try (ConntrackSocket s = Netns.callIn(ns, ConntrackSocket::open)) {
            s.create(entries.subList(0, 2000)); // warm-up (JIT), then flushed
            s.flush();
            long t0 = System.nanoTime();
            ConntrackSocket.BatchResult r = s.create(entries);
            long t1 = System.nanoTime();
            assertThat(r.failures()).isEmpty();
            assertThat(r.succeeded()).isEqualTo(n);
            ConntrackSocket.DumpStats stats = s.dump(e -> { });
            long t2 = System.nanoTime();
            assertThat(stats.entries()).isEqualTo(n);
            assertThat(stats.malformed()).isZero();
            List<ConntrackEntry> all = s.dump();
            assertThat(all).hasSize(n);
            assertThat(all.stream().filter(e -> e.protocol() == ConntrackEntry.UDP).count()).isEqualTo(n / 10);
            long t3 = System.nanoTime();
            s.flush();
            long t4 = System.nanoTime();
            assertThat(s.dump()).isEmpty();
            System.out.printf("conntrack: created %d entries in one call in %.0f ms (%.0f entries/s); dump %.0f ms "
                            + "(%.0f entries/s); flush %.0f ms%n", n, (t1 - t0) / 1e6, n / ((t1 - t0) / 1e9),
                    (t2 - t1) / 1e6, n / ((t2 - t1) / 1e9), (t4 - t3) / 1e6);

            // the same again with a NEW-event subscriber (64 MiB buffer) reading what the creation causes
            try (ConntrackEvents ev = Netns.callIn(ns, () -> s.events(EnumSet.of(ConntrackEvent.Type.NEW),
                    ConntrackEvents.listener(e -> seen.incrementAndGet(), overruns::incrementAndGet)))) {
                long t5 = System.nanoTime();
                assertThat(s.create(entries).ok()).isTrue();
                long t6 = System.nanoTime();
                long lastEvent = awaitQuiet(seen);
                System.out.printf("conntrack: with a subscriber: created in %.0f ms (%.0f entries/s); NEW events read "
                                + "%d of %d (%d overruns) in %.0f ms (%.0f events/s)%n", (t6 - t5) / 1e6,
                        n / ((t6 - t5) / 1e9), seen.get(), n, overruns.get(), (lastEvent - t5) / 1e6,
                        seen.get() / ((lastEvent - t5) / 1e9));
                assertThat(seen.get() == n || overruns.get() > 0)
                        .as("every NEW event arrived, or an overrun was reported (%d events, %d overruns)", seen.get(),
                                overruns.get())
                        .isTrue();
                assertThat(ev.received()).isEqualTo(seen.get());
            }
            s.flush();
        }
    }

    @Test
    void aViewSubscriptionSeesEveryEventInOrderAndReportsOverruns() throws Exception {
        String ns = lab.fresh("views");
        int n = 5000;
        List<ConntrackEntry> entries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            entries.add(ConntrackEntry.of(ConntrackEntry.TCP, ConntrackEntry.Tuple.ports(
                    InetAddress.getByAddress(new byte[] {10, 2, (byte) (i >>> 8), (byte) i}), ip("192.0.2.3"), 40000, 443),
                    600, new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.ESTABLISHED, 7, 7, 0x03, 0x03)));
        }
        List<ConntrackEvent> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicLong overruns = new AtomicLong();
        try (ConntrackSocket s = Netns.callIn(ns, ConntrackSocket::open);
             ConntrackEvents ev = Netns.callIn(ns, () -> ConntrackEvents.openViews(EnumSet.allOf(ConntrackEvent.Type.class),
                     ConntrackSocket.DEFAULT_EVENT_BUFFER, new ConntrackEvents.ViewListener() {
                         @Override
                         public void event(ConntrackView v) {
                             seen.add(new ConntrackEvent(v.type(), v.toEntry())); // copied: the view is reused
                         }

                         @Override
                         public void overrun() {
                             overruns.incrementAndGet();
                         }
                     }))) {
            assertThat(s.create(entries).ok()).isTrue();
            assertThat(s.delete(entries).ok()).isTrue();
            long deadline0 = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (seen.size() < 2 * n && System.nanoTime() < deadline0) {
                sleep(20);
            }
            sleep(100); // nothing more arrives
            assertThat(overruns.get()).isZero();
            assertThat(seen).hasSize(2 * n);
            assertThat(ev.received()).isEqualTo(2L * n);
            for (int i = 0; i < n; i++) {
                assertThat(seen.get(i).type()).isEqualTo(ConntrackEvent.Type.NEW);
                assertThat(seen.get(i).entry().sameFlow(entries.get(i))).isTrue();
                assertThat(seen.get(i).entry().tcp().state()).isEqualTo(ConntrackEntry.TcpInfo.ESTABLISHED);
                assertThat(seen.get(n + i).type()).isEqualTo(ConntrackEvent.Type.DESTROY);
                assertThat(seen.get(n + i).entry().sameFlow(entries.get(i))).isTrue();
            }
        }
        // a listener slower than the kernel with an 8 KiB buffer: ENOBUFS reported to the view listener too
        AtomicLong count = new AtomicLong();
        AtomicLong lost = new AtomicLong();
        try (ConntrackSocket s = Netns.callIn(ns, ConntrackSocket::open);
             ConntrackEvents ev = Netns.callIn(ns, () -> ConntrackEvents.openViews(EnumSet.allOf(ConntrackEvent.Type.class),
                     8192, new ConntrackEvents.ViewListener() {
                         @Override
                         public void event(ConntrackView v) {
                             if (count.incrementAndGet() % 100 == 0) {
                                 sleep(1);
                             }
                         }

                         @Override
                         public void overrun() {
                             lost.incrementAndGet();
                         }
                     }))) {
            assertThat(s.create(entries).ok()).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (lost.get() == 0 && System.nanoTime() < deadline) {
                sleep(10);
            }
            assertThat(lost.get()).as("ENOBUFS reported (%d events seen)", count.get()).isPositive();
            assertThat(ev.overruns()).isEqualTo(lost.get());
            s.flush();
        }
    }

    @Test
    void aSmallEventBufferReportsOverruns() throws Exception {
        String ns = lab.fresh("small");
        AtomicLong seen = new AtomicLong();
        AtomicLong overruns = new AtomicLong();
        List<ConntrackEntry> entries = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            entries.add(ConntrackEntry.of(ConntrackEntry.UDP, ConntrackEntry.Tuple.ports(
                    InetAddress.getByAddress(new byte[] {10, 1, (byte) (i >>> 8), (byte) i}), ip("192.0.2.2"), 5000, 53),
                    60, null));
        }
        try (ConntrackSocket s = Netns.callIn(ns, ConntrackSocket::open)) {
            // a listener slower than the kernel: the 8 KiB buffer overflows
            Netns.callIn(ns, () -> s.events(EnumSet.allOf(ConntrackEvent.Type.class), 8192,
                    ConntrackEvents.listener(e -> {
                        seen.incrementAndGet();
                        if (seen.get() % 100 == 0) {
                            sleep(1);
                        }
                    }, overruns::incrementAndGet)));
            assertThat(s.create(entries).ok()).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (overruns.get() == 0 && System.nanoTime() < deadline) {
                sleep(10);
            }
            assertThat(overruns.get()).as("ENOBUFS reported (%d events seen)", seen.get()).isPositive();
            assertThat(seen.get()).isLessThan(5000);
        }
    }

    @Test
    void closeIsSafeWhileAnotherThreadUsesTheSocket() throws Exception {
        String ns = lab.fresh("close");
        ConntrackSocket s = Netns.callIn(ns, ConntrackSocket::open);
        ConntrackEvents ev = Netns.callIn(ns, () -> s.events(EnumSet.allOf(ConntrackEvent.Type.class), 1 << 20,
                ConntrackEvents.listener(e -> { }, () -> { })));
        List<ConntrackEntry> entries = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            entries.add(ConntrackEntry.of(ConntrackEntry.UDP, ConntrackEntry.Tuple.ports(
                    InetAddress.getByAddress(new byte[] {10, 2, (byte) (i >>> 8), (byte) i}), ip("192.0.2.3"), 5000, 53),
                    60, null));
        }
        LinkedBlockingQueue<Throwable> outcome = new LinkedBlockingQueue<>();
        Thread user = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 1000; i++) {
                    s.create(entries);
                    s.dump();
                }
                outcome.add(new AssertionError("never saw the close"));
            } catch (Throwable t) {
                outcome.add(t);
            }
        });
        sleep(50);
        s.close();
        s.close();
        ev.close();
        Throwable t = outcome.poll(15, TimeUnit.SECONDS);
        user.join(5000);
        assertThat(t).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until the counter stops moving for 200 ms; returns when it last moved (nanoTime). */
    private static long awaitQuiet(AtomicLong counter) {
        long last = counter.get();
        long movedAt = System.nanoTime();
        long deadline = movedAt + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            sleep(20);
            long now = counter.get();
            if (now != last) {
                last = now;
                movedAt = System.nanoTime();
            } else if (System.nanoTime() - movedAt > 200_000_000L) {
                break;
            }
        }
        return movedAt;
    }

    private static InetAddress uncheck(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static ConntrackEntry only(List<ConntrackEntry> entries, Predicate<ConntrackEntry> p) {
        List<ConntrackEntry> m = entries.stream().filter(p).toList();
        assertThat(m).as("exactly one match among %s", entries).hasSize(1);
        return m.getFirst();
    }

    private static ConntrackEvent awaitEvent(LinkedBlockingQueue<ConntrackEvent> q, ConntrackEvent.Type type,
            Predicate<ConntrackEntry> p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<ConntrackEvent> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            ConntrackEvent e = q.poll(100, TimeUnit.MILLISECONDS);
            if (e == null) {
                continue;
            }
            seen.add(e);
            if (e.type() == type && p.test(e.entry())) {
                q.addAll(seen.subList(0, seen.size() - 1)); // later waits may want the others
                return e;
            }
        }
        throw new AssertionError("no " + type + " event matching within 5 s; saw " + seen);
    }

    private static String line(String listing, String needle) {
        for (String l : listing.split("\n")) {
            if (l.contains(needle)) {
                return l;
            }
        }
        throw new AssertionError("no line with " + needle + " in:\n" + listing);
    }
}
