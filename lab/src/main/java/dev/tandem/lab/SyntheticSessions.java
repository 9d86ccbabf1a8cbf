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
 *
 * <p>{@link #entry} is the lab's default and the commit's worst case: every session's port is translated,
 * and each client port is reused towards 17 server ports, so the kernel's NAT set-up finds an earlier
 * mapping of the same source and checks the translated tuple is free. {@link Nat} gives the other
 * tables a firewall holds: source NAT that keeps the client's port (what masquerading does while the
 * port is free) and routed sessions without NAT.
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
        return range(Nat.PORT_TRANSLATED, from, to, timeoutSeconds);
    }

    /** What the sessions of a synthetic table look like to the kernel's NAT. */
    public enum Nat {
        /** Source NAT to the VIP on a translated port, client ports reused towards 17 servers ({@link #entry}). */
        PORT_TRANSLATED("port-translated"),
        /** Source NAT to the VIP keeping each client's own port; every client port used once. */
        PORT_KEPT("port-kept"),
        /** No NAT: a routed firewall's sessions (the reply is the original inverted). */
        NONE("none");

        public final String label;

        Nat(String label) {
            this.label = label;
        }

        public static Nat of(String label) {
            for (Nat n : values()) {
                if (n.label.equals(label)) {
                    return n;
                }
            }
            throw new IllegalArgumentException("'" + label + "' is not one of port-translated, port-kept, none");
        }
    }

    /**
     * Entry number i of a table of this kind. PORT_KEPT and NONE: client 10.10.1.(10 + i / 60,000) port
     * 1024 + i % 60,000 → the server's port 1024 + i / 60,000, so no two sessions share a client port and
     * the SNAT'ed reply tuples (server port, VIP port) stay unique; i < 240 × 60,000.
     */
    public static ConntrackEntry entry(Nat nat, long i, long timeoutSeconds) {
        if (nat == Nat.PORT_TRANSLATED) {
            return entry(i, timeoutSeconds);
        }
        int client = (int) (i / PER_DPORT);
        if (client >= CLIENTS.length) {
            throw new IllegalArgumentException("entry " + i + " is beyond the synthetic address space");
        }
        int sport = 1024 + (int) (i % PER_DPORT);
        int dport = 1024 + client;
        Tuple orig = Tuple.ports(CLIENTS[client], SERVER, sport, dport);
        boolean snat = nat == Nat.PORT_KEPT;
        Tuple reply = Tuple.ports(SERVER, snat ? VIP : CLIENTS[client], dport, sport);
        return new ConntrackEntry(ConntrackEntry.Family.IPV4, ConntrackEntry.TCP, orig, reply,
                ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED | ConntrackEntry.IPS_CONFIRMED
                        | (snat ? ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_SRC_NAT_DONE | ConntrackEntry.IPS_DST_NAT_DONE : 0),
                timeoutSeconds, 0, 0, ESTABLISHED, OptionalLong.empty());
    }

    /** Entries from (inclusive) to (exclusive) of a table of this kind. */
    public static List<ConntrackEntry> range(Nat nat, long from, long to, long timeoutSeconds) {
        List<ConntrackEntry> l = new ArrayList<>((int) (to - from));
        for (long i = from; i < to; i++) {
            l.add(entry(nat, i, timeoutSeconds));
        }
        return l;
    }
}
