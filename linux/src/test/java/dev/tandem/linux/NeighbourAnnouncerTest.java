package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A GARP / unsolicited NA from A moves B's existing neighbour entry for the address to A's MAC. */
class NeighbourAnnouncerTest {
    private static TwoHosts hosts;

    @BeforeAll
    static void up() {
        hosts = new TwoHosts();
    }

    @AfterAll
    static void down() {
        hosts.close();
    }

    private static String macOfA() {
        String link = TwoHosts.sh("ip", "-n", hosts.a, "-o", "link", "show", "eth0");
        return link.replaceAll("(?s).*link/ether ([0-9a-f:]{17}).*", "$1");
    }

    private static String neighbourLine(String family, String ip) {
        return TwoHosts.sh("ip", "-n", hosts.b, family, "neigh", "show", ip).trim();
    }

    @Test
    void gratuitousArpUpdatesAnExistingEntry() throws Exception {
        TwoHosts.sh("ip", "-n", hosts.b, "neigh", "replace", "10.99.0.254", "lladdr", "02:00:00:00:00:99", "dev", "eth0",
                "nud", "stale");
        Netns.callIn(hosts.a, () -> {
            try (Rtnetlink r = Rtnetlink.open(); NeighbourAnnouncer n = NeighbourAnnouncer.open(r, "eth0")) {
                n.sendGratuitousArp(new byte[]{10, 99, 0, (byte) 254});
            }
            return null;
        });
        Thread.sleep(200);
        assertThat(neighbourLine("-4", "10.99.0.254")).contains(macOfA());
    }

    @Test
    void unsolicitedNeighbourAdvertisementUpdatesAnExistingEntry() throws Exception {
        TwoHosts.sh("ip", "-n", hosts.b, "-6", "neigh", "replace", "fd99::254", "lladdr", "02:00:00:00:00:98", "dev",
                "eth0", "nud", "stale");
        byte[] target = {(byte) 0xfd, (byte) 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x54};
        Netns.callIn(hosts.a, () -> {
            try (Rtnetlink r = Rtnetlink.open(); NeighbourAnnouncer n = NeighbourAnnouncer.open(r, "eth0")) {
                n.sendUnsolicitedNeighbourAdvertisement(target);
            }
            return null;
        });
        Thread.sleep(200);
        assertThat(neighbourLine("-6", "fd99::254")).contains(macOfA());
    }
}
