package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class UdpReceiverTest {
    private static TwoHosts hosts;

    @BeforeAll
    static void up() {
        hosts = new TwoHosts();
    }

    @AfterAll
    static void down() {
        hosts.close();
    }

    private static void sendFrom(String ns, String from, String to, int port, byte[] data) throws Exception {
        Netns.callIn(ns, () -> {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(from), 0))) {
                s.send(new DatagramPacket(data, data.length, new InetSocketAddress(InetAddress.getByName(to), port)));
            }
            return null;
        });
    }

    /**
     * The point of the class: a reader that gets round to a datagram late still learns when it
     * arrived. Read 150 ms after the send, the arrival time is the send's, not the read's.
     */
    @Test
    void aLateReaderGetsTheKernelsArrivalTimeAndTheSource() throws Exception {
        try (UdpReceiver rx = Netns.callIn(hosts.b, () -> UdpReceiver.bind(new byte[]{10, 99, 0, 2}, 7411, 512))) {
            long before = System.nanoTime();
            sendFrom(hosts.a, "10.99.0.1", "10.99.0.2", 7411, new byte[]{1, 2, 3, 4, 5});
            long sent = System.nanoTime();
            Thread.sleep(150);
            byte[] buf = new byte[512];
            UdpReceiver.Datagram d = rx.receive(buf);
            long read = System.nanoTime();
            assertThat(d.length()).isEqualTo(5);
            assertThat(d.truncated()).isFalse();
            assertThat(d.source()).containsExactly(10, 99, 0, 1);
            assertThat(buf[0]).isEqualTo((byte) 1);
            assertThat(buf[4]).isEqualTo((byte) 5);
            assertThat(d.arrivedAt()).isBetween(before - 1_000_000, sent + 1_000_000);
            assertThat(read - d.arrivedAt()).as("age when read").isGreaterThan(140_000_000L);
        }
    }

    @Test
    void ipv6AndOversizeDatagramsAreCutAndFlagged() throws Exception {
        byte[] v6 = InetAddress.getByName("fd99::2").getAddress();
        try (UdpReceiver rx = Netns.callIn(hosts.b, () -> UdpReceiver.bind(v6, 7412, 16))) {
            sendFrom(hosts.a, "fd99::1", "fd99::2", 7412, new byte[40]);
            UdpReceiver.Datagram d = rx.receive(new byte[16]);
            assertThat(d.truncated()).isTrue();
            assertThat(d.length()).isEqualTo(16);
            assertThat(d.source()).isEqualTo(InetAddress.getByName("fd99::1").getAddress());
        }
    }

    @Test
    void closeWakesABlockedReceive() throws Exception {
        UdpReceiver rx = Netns.callIn(hosts.b, () -> UdpReceiver.bind(new byte[]{10, 99, 0, 2}, 7413, 64));
        CompletableFuture<UdpReceiver.Datagram> got = CompletableFuture.supplyAsync(() -> rx.receive(new byte[64]),
                r -> Thread.ofPlatform().start(r));
        Thread.sleep(100);
        assertThat(got).isNotDone();
        rx.close();
        assertThat(got.get(1, TimeUnit.SECONDS)).isNull();
        rx.close(); // idempotent
    }

    @Test
    void badArgumentsAndBindErrorsSayWhat() {
        assertThatThrownBy(() -> UdpReceiver.bind(new byte[3], 7414, 64)).hasMessageContaining("4 or 16 bytes");
        assertThatThrownBy(() -> UdpReceiver.bind(new byte[4], 0, 64)).hasMessageContaining("port 1..65535");
        assertThatThrownBy(() -> Netns.callIn(hosts.b, () -> UdpReceiver.bind(new byte[]{10, 1, 2, 3}, 7414, 64)))
                .hasMessageContaining("EADDRNOTAVAIL");
    }

    @Test
    void timestampsAreFoundAmongControlMessagesAndWallClockStepsFallBackToNow() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(96, 8);
            // an IPV6_HOPLIMIT message (20 bytes, padded to 24), then SCM_TIMESTAMPNS
            c.set(ValueLayout.JAVA_LONG, 0, 20);
            c.set(ValueLayout.JAVA_INT, 8, Libc.IPPROTO_IPV6);
            c.set(ValueLayout.JAVA_INT, 12, Libc.IPV6_HOPLIMIT);
            c.set(ValueLayout.JAVA_LONG, 24, 32);
            c.set(ValueLayout.JAVA_INT, 32, Libc.SOL_SOCKET);
            c.set(ValueLayout.JAVA_INT, 36, Libc.SCM_TIMESTAMPNS);
            c.set(ValueLayout.JAVA_LONG, 40, 1_796_000_000L);
            c.set(ValueLayout.JAVA_LONG, 48, 123_456_789L);
            assertThat(ReceiveTime.find(c, 56)).isEqualTo(1_796_000_000_123_456_789L);
            assertThat(ReceiveTime.find(c, 40)).as("cut short").isEqualTo(-1);
            c.set(ValueLayout.JAVA_LONG, 48, 1_000_000_000L);
            assertThat(ReceiveTime.find(c, 56)).as("nanoseconds out of range").isEqualTo(-1);
            c.set(ValueLayout.JAVA_LONG, 24, 8);
            assertThat(ReceiveTime.find(c, 56)).as("a length below the header").isEqualTo(-1);
        }
        assertThat(ReceiveTime.monotonic(1_000, 3_000, 50_000)).isEqualTo(48_000);
        assertThat(ReceiveTime.monotonic(5_000, 3_000, 50_000)).as("stamp in the future").isEqualTo(50_000);
        assertThat(ReceiveTime.monotonic(0, 2_000_000_000L, 50_000)).as("older than 1 s").isEqualTo(50_000);
        long real = Libc.clockNanos(Libc.CLOCK_REALTIME);
        assertThat(Math.abs(real / 1_000_000 - System.currentTimeMillis())).isLessThan(1000);
    }
}
