package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RtnetlinkTest {
    private static TwoHosts hosts;

    @BeforeAll
    static void up() {
        hosts = new TwoHosts();
    }

    @AfterAll
    static void down() {
        hosts.close();
    }

    @Test
    void addsAndRemovesAddressesIdempotentlyIpv6WithoutDad() {
        byte[] v4 = {10, 99, 0, (byte) 254};
        byte[] v6 = {(byte) 0xfd, (byte) 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x54};
        // TwoHosts turns DAD off; turn it on for this interface, or "not tentative" would prove nothing
        TwoHosts.sh("ip", "netns", "exec", hosts.a, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=1");
        try {
            TwoHosts.sh("ip", "-n", hosts.a, "addr", "add", "fd99::255/64", "dev", "eth0");
            assertThat(addressLine("fd99::255/64")).as("DAD is on: an address added without nodad is tentative")
                    .contains("tentative");
            Netns.callIn(hosts.a, () -> {
                try (Rtnetlink r = Rtnetlink.open()) {
                    int idx = r.link("eth0").index();
                    r.addAddress(idx, v4, 24);
                    r.addAddress(idx, v4, 24); // already there: fine
                    r.addAddress(idx, v6, 64);
                    assertThat(r.addresses(idx)).anyMatch(a -> java.util.Arrays.equals(a.address(), v4) && a.prefixLength() == 24);
                    assertThat(r.addresses(idx)).anyMatch(a -> java.util.Arrays.equals(a.address(), v6)
                            && (a.flags() & NetlinkMessages.IFA_F_NODAD) != 0 && (a.flags() & IFA_F_TENTATIVE) == 0);
                    return null;
                }
            });
            assertThat(addressLine("10.99.0.254/24")).isNotEmpty();
            assertThat(addressLine("fd99::254/64")).contains("nodad").doesNotContain("tentative");
        } finally {
            TwoHosts.sh("ip", "netns", "exec", hosts.a, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0");
            TwoHosts.sh("ip", "-n", hosts.a, "addr", "del", "fd99::255/64", "dev", "eth0");
        }
        Netns.callIn(hosts.a, () -> {
            try (Rtnetlink r = Rtnetlink.open()) {
                int idx = r.link("eth0").index();
                r.removeAddress(idx, v4, 24);
                r.removeAddress(idx, v4, 24); // already gone: fine
                r.removeAddress(idx, v6, 64);
                return null;
            }
        });
        assertThat(TwoHosts.sh("ip", "-n", hosts.a, "addr", "show", "dev", "eth0")).doesNotContain("10.99.0.254")
                .doesNotContain("fd99::254");
    }

    private static final int IFA_F_TENTATIVE = 0x40;

    /** The `ip addr show` line of one address on eth0 in host a (with its flags), or "" if absent. */
    private static String addressLine(String cidr) {
        for (String line : TwoHosts.sh("ip", "-n", hosts.a, "addr", "show", "dev", "eth0").split("\n")) {
            if (line.contains(" " + cidr + " ")) {
                return line;
            }
        }
        return "";
    }

    @Test
    void errorsNameTheErrno() {
        assertThatThrownBy(() -> Netns.callIn(hosts.a, () -> {
            try (Rtnetlink r = Rtnetlink.open()) {
                r.addAddress(99999, new byte[]{10, 1, 1, 1}, 24);
                return null;
            }
        })).hasMessageContaining("RTM_NEWADDR 10.1.1.1/24").hasMessageContaining("ENODEV");
    }

    @Test
    void linkEventsArriveWhenALinkGoesDownAndUp() throws Exception {
        LinkedBlockingQueue<LinkEventReader.LinkEvent> events = new LinkedBlockingQueue<>();
        LinkEventReader reader = Netns.callIn(hosts.b, () -> new LinkEventReader(events::add));
        reader.start();
        try {
            Thread.sleep(100);
            TwoHosts.sh("ip", "-n", hosts.b, "link", "set", "eth0", "down");
            LinkEventReader.LinkEvent e;
            do {
                e = events.poll(3, TimeUnit.SECONDS);
                assertThat(e).as("a link-down event").isNotNull();
            } while (!(e.name().equals("eth0") && !e.up()));
            TwoHosts.sh("ip", "-n", hosts.b, "link", "set", "eth0", "up");
            do {
                e = events.poll(3, TimeUnit.SECONDS);
                assertThat(e).as("a link-up event").isNotNull();
            } while (!(e.name().equals("eth0") && e.up()));
        } finally {
            long t0 = System.nanoTime();
            reader.close();
            assertThat((System.nanoTime() - t0) / 1_000_000).as("close wakes the reader").isLessThan(500);
        }
    }
}
