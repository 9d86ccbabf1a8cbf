package dev.tandem.lab;

import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackEntry.Tuple;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Synthetic established TCP sessions as the lab's firewall would track them: client 10.10.1.x:port →
 * server 10.10.2.100:port (clients 10.10.1.10-249), source-NATed to the WAN VIP 10.10.2.254 (the reply goes to the VIP on a
 * translated port). Entry i is unique in both tuples for i < 60,000 × 64,000; not the firewall's own
 * traffic, so session sync replicates them.
 */
public final class SyntheticSessions {
    private static final int PER_DPORT = 60_000;
    private static final InetAddress SERVER = addr(LabTopology.SERVER);
    private static final InetAddress VIP = addr(LabTopology.WAN_VIP);
    private static final InetAddress[] CLIENTS = new InetAddress[240];
    private static final ConntrackEntry.TcpInfo ESTABLISHED = new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.ESTABLISHED,
            7, 7, ConntrackEntry.TcpInfo.FLAG_WINDOW_SCALE | ConntrackEntry.TcpInfo.FLAG_SACK_PERM,
            ConntrackEntry.TcpInfo.FLAG_WINDOW_SCALE | ConntrackEntry.TcpInfo.FLAG_SACK_PERM);

    static {
        for (int i = 0; i < CLIENTS.length; i++) {
            CLIENTS[i] = addr("10.10.1." + (10 + i)); // 10..249: not the firewalls' own .1/.2 nor the VIP .254
        }
    }

    private SyntheticSessions() {}

    private static InetAddress addr(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Entry number i (0-based): the same i gives the same flow. */
    public static ConntrackEntry entry(long i, long timeoutSeconds) {
        int j = (int) (i % PER_DPORT);
        int k = (int) (i / PER_DPORT);
        if (k >= 64_000) {
            throw new IllegalArgumentException("entry " + i + " is beyond the synthetic address space");
        }
        int dport = 1024 + k;
        Tuple orig = Tuple.ports(CLIENTS[j % CLIENTS.length], SERVER, 1024 + j / CLIENTS.length, dport);
        Tuple reply = Tuple.ports(SERVER, VIP, dport, 1024 + j);
        return new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.TCP, orig, reply,
                ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED | ConntrackEntry.IPS_CONFIRMED
                        | ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_SRC_NAT_DONE | ConntrackEntry.IPS_DST_NAT_DONE,
                timeoutSeconds, 0, 0, ESTABLISHED, OptionalLong.empty());
    }

    /** Entries from (inclusive) to (exclusive). */
    public static List<ConntrackEntry> range(long from, long to, long timeoutSeconds) {
        List<ConntrackEntry> l = new ArrayList<>((int) (to - from));
        for (long i = from; i < to; i++) {
            l.add(entry(i, timeoutSeconds));
        }
        return l;
    }
}
