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
        Netns.callIn(hosts.a, () -> {
            try (Rtnetlink r = Rtnetlink.open()) {
                int idx = r.link("eth0").index();
                r.addAddress(idx, v4, 24);
                r.addAddress(idx, v4, 24); // already there: fine
                r.addAddress(idx, v6, 64);
                assertThat(r.addresses(idx)).anyMatch(a -> java.util.Arrays.equals(a.address(), v4) && a.prefixLength() == 24);
                return null;
            }
        });
        String shown = TwoHosts.sh("ip", "-n", hosts.a, "addr", "show", "dev", "eth0");
        assertThat(shown).contains("10.99.0.254/24").contains("fd99::254/64");
        assertThat(shown).doesNotContain("tentative");
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
