package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class VrrpSocketTest {
    private static TwoHosts hosts;

    @BeforeAll
    static void up() {
        hosts = new TwoHosts();
    }

    @AfterAll
    static void down() {
        hosts.close();
    }

    private static final byte[] MSG = {0x31, 51, 100, 1, 0, 1, 0, 0, 10, 99, 0, (byte) 254};

    private void exchange(boolean v6, byte[] srcA) throws Exception {
        VrrpSocket rx = Netns.callIn(hosts.b, () -> VrrpSocket.open("eth0", v6, v6 ? TwoHosts.linkLocal(hosts.b)
                : new byte[]{10, 99, 0, 2}));
        VrrpSocket tx = Netns.callIn(hosts.a, () -> VrrpSocket.open("eth0", v6, srcA));
        try {
            CompletableFuture<VrrpSocket.Received> got = CompletableFuture.supplyAsync(rx::receive,
                    r -> Thread.ofPlatform().start(r));
            CompletableFuture<VrrpSocket.Received> own = CompletableFuture.supplyAsync(tx::receive,
                    r -> Thread.ofPlatform().start(r));
            Thread.sleep(100);
            long before = System.nanoTime();
            tx.send(MSG);
            VrrpSocket.Received r = got.get(3, TimeUnit.SECONDS);
            // the kernel's receive time, not the reader's: within the send, never after the return
            assertThat(r.arrivedAt()).isBetween(before - 1_000_000, System.nanoTime());
            assertThat(r.payload()).isEqualTo(MSG);
            assertThat(r.ttlOrHopLimit()).isEqualTo(255);
            assertThat(r.source()).isEqualTo(srcA);
            assertThat(r.destination()).isEqualTo(v6
                    ? new byte[]{(byte) 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12}
                    : new byte[]{(byte) 224, 0, 0, 18});
            // multicast loop is off: the sender never hears itself; close() wakes its blocked reader
            Thread.sleep(200);
            assertThat(own).isNotDone();
            long t0 = System.nanoTime();
            tx.close();
            assertThat(own.get(1, TimeUnit.SECONDS)).isNull();
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(100);
        } finally {
            tx.close();
            rx.close();
        }
    }

    @Test
    void ipv4AdvertCrossesWithTtl255AndNoLoopback() throws Exception {
        exchange(false, new byte[]{10, 99, 0, 1});
    }

    @Test
    void ipv6AdvertCrossesWithHopLimit255FromTheLinkLocal() throws Exception {
        exchange(true, TwoHosts.linkLocal(hosts.a));
    }

    @Test
    void errorsNameTheCallAndTheErrno() {
        assertThatThrownBy(() -> Netns.callIn(hosts.a, () -> VrrpSocket.open("nosuch0", false, new byte[]{10, 99, 0, 1})))
                .hasMessageContaining("if_nametoindex(nosuch0)").hasMessageContaining("ENODEV");
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> Netns.callIn(hosts.a, () -> VrrpSocket.open("eth0", false, new byte[]{10, 1, 2, 3})))
                .hasMessageContaining("bind").hasMessageContaining("EADDRNOTAVAIL");
        // IPv4 addresses are never tentative: no retrying a missing address
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1000);
    }

    private static VrrpSocket.Received receiveWithin(VrrpSocket s, long ms) throws Exception {
        return CompletableFuture.supplyAsync(s::receive, r -> Thread.ofPlatform().start(r)).get(ms, TimeUnit.MILLISECONDS);
    }

    /** Room for every size below on one frame; fragments would work too, but nothing here depends on them. */
    private static void jumboFrames() {
        TwoHosts.sh("ip", "-n", hosts.a, "link", "set", "eth0", "mtu", "9000");
        TwoHosts.sh("ip", "-n", hosts.b, "link", "set", "eth0", "mtu", "9000");
    }

    @Test
    void theLargestVrrpMessageCrossesWhole() throws Exception {
        jumboFrames();
        // VRRPv3 with 255 IPv6 addresses: 8 + 255 * 16 bytes
        byte[] big = new byte[4088];
        Arrays.fill(big, (byte) 0x5a);
        System.arraycopy(MSG, 0, big, 0, 8);
        VrrpSocket rx = Netns.callIn(hosts.b, () -> VrrpSocket.open("eth0", true, TwoHosts.linkLocal(hosts.b)));
        VrrpSocket tx = Netns.callIn(hosts.a, () -> VrrpSocket.open("eth0", true, TwoHosts.linkLocal(hosts.a)));
        try {
            tx.send(big);
            assertThat(receiveWithin(rx, 3000).payload()).isEqualTo(big);
            assertThatThrownBy(() -> tx.send(new byte[4089])).isInstanceOf(IllegalArgumentException.class);
        } finally {
            tx.close();
            rx.close();
        }
    }

    @Test
    void truncatedPacketsAreSkippedAndCounted() throws Exception {
        jumboFrames();
        VrrpSocket rx = Netns.callIn(hosts.b, () -> VrrpSocket.open("eth0", false, new byte[]{10, 99, 0, 2}));
        VrrpSocket tx = Netns.callIn(hosts.a, () -> VrrpSocket.open("eth0", false, new byte[]{10, 99, 0, 1}));
        try {
            // no VRRP message is this long, so VrrpSocket cannot send it: a plain raw socket does
            Netns.callIn(hosts.a, () -> {
                int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_RAW, 112);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment buf = arena.allocate(8500);
                    buf.fill((byte) 0x31);
                    Libc.sendto(fd, buf, buf.byteSize(), SockAddr.in4(arena, new byte[]{10, 99, 0, 2}), "oversized VRRP");
                } finally {
                    Libc.close(fd);
                }
                return null;
            });
            tx.send(MSG);
            assertThat(receiveWithin(rx, 3000).payload()).isEqualTo(MSG);
            assertThat(rx.truncatedPackets()).isEqualTo(1);
        } finally {
            tx.close();
            rx.close();
        }
    }

    @Test
    void receiveReturnsNullOnlyWhenClosedNotWhenAWaitEnds() throws Exception {
        // 20 ms waits: several end with nothing to read while receive() goes on waiting
        VrrpSocket rx = Netns.callIn(hosts.b, () -> VrrpSocket.open("eth0", false, new byte[]{10, 99, 0, 2}, 20));
        VrrpSocket tx = Netns.callIn(hosts.a, () -> VrrpSocket.open("eth0", false, new byte[]{10, 99, 0, 1}));
        try {
            CompletableFuture<VrrpSocket.Received> got = CompletableFuture.supplyAsync(rx::receive,
                    r -> Thread.ofPlatform().start(r));
            Thread.sleep(200);
            assertThat(got).isNotDone();
            tx.send(MSG);
            assertThat(got.get(3, TimeUnit.SECONDS).payload()).isEqualTo(MSG);
            CompletableFuture<VrrpSocket.Received> next = CompletableFuture.supplyAsync(rx::receive,
                    r -> Thread.ofPlatform().start(r));
            Thread.sleep(200);
            assertThat(next).isNotDone();
            rx.close();
            assertThat(next.get(1, TimeUnit.SECONDS)).isNull();
            assertThat(rx.receive()).as("after close").isNull();
        } finally {
            tx.close();
            rx.close();
        }
    }

    @Test
    void closeDuringSendsIsCleanAndLaterSendsFailWithoutTouchingTheDescriptor() throws Exception {
        for (int round = 0; round < 20; round++) {
            VrrpSocket tx = Netns.callIn(hosts.a, () -> VrrpSocket.open("eth0", false, new byte[]{10, 99, 0, 1}));
            AtomicReference<RuntimeException> failure = new AtomicReference<>();
            Thread sender = Thread.ofPlatform().start(() -> {
                try {
                    while (true) {
                        tx.send(MSG);
                    }
                } catch (RuntimeException e) {
                    failure.set(e);
                }
            });
            Thread.sleep(5);
            tx.close(); // must not throw while a send is under way
            sender.join(2000);
            assertThat(sender.isAlive()).isFalse();
            // not EBADF from a closed descriptor, nor the arena's own error: the socket's state said no
            assertThat(failure.get()).isInstanceOf(IllegalStateException.class).hasMessage("VRRP socket on eth0 is closed");
            assertThatThrownBy(() -> tx.send(MSG)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("VRRP socket on eth0 is closed");
            assertThat(tx.receive()).isNull();
            tx.close(); // idempotent
        }
    }
}
