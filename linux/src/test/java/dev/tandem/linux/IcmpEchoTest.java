package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The path monitor's probe against a real neighbour namespace, and its silence once blocked. */
class IcmpEchoTest {
    private static TwoHosts hosts;
    private static final byte[] B4 = {10, 99, 0, 2};
    private static final byte[] A4 = {10, 99, 0, 1};
    private static final byte[] B6 = {(byte) 0xfd, (byte) 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

    @BeforeAll
    static void up() {
        hosts = new TwoHosts();
    }

    @AfterAll
    static void down() {
        hosts.close();
    }

    private static long ping(boolean v6, byte[] src, byte[] dst, int timeoutMs) {
        return Netns.callIn(hosts.a, () -> {
            try (IcmpEcho e = IcmpEcho.open(v6, src)) {
                return e.ping(dst, timeoutMs);
            }
        });
    }

    @Test
    void answeredOverIpv4AndIpv6() {
        assertThat(ping(false, A4, B4, 1000)).isPositive();
        assertThat(ping(true, null, B6, 1000)).isPositive();
    }

    @Test
    void silentWhenTheNeighbourDropsEchoRequests() {
        TwoHosts.sh("ip", "netns", "exec", hosts.b, "nft", "add table inet t; add chain inet t in { type filter hook "
                + "input priority 0; policy accept; }; add rule inet t in icmp type echo-request drop; "
                + "add rule inet t in icmpv6 type echo-request drop");
        try {
            long t0 = System.nanoTime();
            assertThat(ping(false, A4, B4, 200)).isEqualTo(-1);
            assertThat(System.nanoTime() - t0).as("bounded by the timeout").isLessThan(1_000_000_000L);
            assertThat(ping(true, null, B6, 200)).isEqualTo(-1);
        } finally {
            TwoHosts.sh("ip", "netns", "exec", hosts.b, "nft", "delete table inet t");
        }
        assertThat(ping(false, A4, B4, 1000)).isPositive();
    }

    @Test
    void checksumOfAKnownPacket() {
        // echo request id 1 seq 1, no payload: 0x0800 + 0x0001 + 0x0001 = 0x0802 -> ~ = 0xf7fd
        assertThat(IcmpEcho.checksum(new byte[]{8, 0, 0, 0, 0, 1, 0, 1})).isEqualTo(0xf7fd);
    }
}
