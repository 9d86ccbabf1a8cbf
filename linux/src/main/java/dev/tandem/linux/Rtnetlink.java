package dev.tandem.linux;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Synchronous rtnetlink requests: list links and addresses, add and remove addresses. Not
 * thread-safe: one owner (the node's event loop).
 */
public final class Rtnetlink implements AutoCloseable {
    private static final int MAX_REPLIES = 100_000;

    /** A link as the kernel reports it; up means administratively up and carrier on. */
    public record Link(int index, String name, boolean up, byte[] mac) {}

    /** One address of an interface; address is in network order (4 or 16 bytes). */
    public record InterfaceAddress(int index, byte[] address, int prefixLength, int flags) {}

    private final NetlinkSocket socket;
    private int seq = (int) (System.nanoTime() & 0x3fffffff);

    private Rtnetlink() {
        socket = new NetlinkSocket(0, 1 << 20);
    }

    public static Rtnetlink open() {
        return new Rtnetlink();
    }

    public List<Link> links() {
        List<Link> out = new ArrayList<>();
        for (NetlinkMessages.Message m : dump(NetlinkMessages.RTM_GETLINK, new byte[16])) {
            if (m.type() == NetlinkMessages.RTM_NEWLINK) {
                try {
                    out.add(NetlinkMessages.link(m));
                } catch (NetlinkMessages.MalformedMessageException e) {
                    // skip what we cannot read; the rest of the table is still good
                }
            }
        }
        return out;
    }

    public Link link(String name) {
        for (Link l : links()) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        return null;
    }

    /** Addresses of one interface (every family). */
    public List<InterfaceAddress> addresses(int ifindex) {
        List<InterfaceAddress> out = new ArrayList<>();
        for (NetlinkMessages.Message m : dump(NetlinkMessages.RTM_GETADDR, new byte[8])) {
            if (m.type() != NetlinkMessages.RTM_NEWADDR) {
                continue;
            }
            try {
                InterfaceAddress a = NetlinkMessages.address(m);
                if (a.index() == ifindex) {
                    out.add(a);
                }
            } catch (NetlinkMessages.MalformedMessageException e) {
                // skip
            }
        }
        return out;
    }

    /** Adds an address; already present is fine. IPv6 addresses skip DAD so they are usable at once. */
    public void addAddress(int ifindex, byte[] address, int prefixLength) {
        int err = addressRequest(NetlinkMessages.RTM_NEWADDR,
                NetlinkMessages.NLM_F_CREATE | NetlinkMessages.NLM_F_EXCL, ifindex, address, prefixLength);
        if (err != 0 && err != Errno.EEXIST) {
            throw new NativeException("RTM_NEWADDR " + text(address) + "/" + prefixLength + " on ifindex " + ifindex, err);
        }
    }

    /** Removes an address; already absent is fine. */
    public void removeAddress(int ifindex, byte[] address, int prefixLength) {
        int err = addressRequest(NetlinkMessages.RTM_DELADDR, 0, ifindex, address, prefixLength);
        if (err != 0 && err != Errno.EADDRNOTAVAIL && err != Errno.ENODEV) {
            throw new NativeException("RTM_DELADDR " + text(address) + "/" + prefixLength + " on ifindex " + ifindex, err);
        }
    }

    private int addressRequest(int type, int flags, int ifindex, byte[] address, int prefixLength) {
        boolean v6 = address.length == 16;
        byte[] ifa = new byte[8];
        ifa[0] = (byte) (v6 ? Libc.AF_INET6 : Libc.AF_INET);
        ifa[1] = (byte) prefixLength;
        ifa[2] = (byte) (v6 ? NetlinkMessages.IFA_F_NODAD : 0);
        ifa[3] = 0; // RT_SCOPE_UNIVERSE
        java.nio.ByteBuffer.wrap(ifa).order(java.nio.ByteOrder.nativeOrder()).putInt(4, ifindex);
        List<Map.Entry<Integer, byte[]>> attrs = new ArrayList<>();
        attrs.add(Map.entry(NetlinkMessages.IFA_LOCAL, address));
        attrs.add(Map.entry(NetlinkMessages.IFA_ADDRESS, address));
        if (v6) {
            byte[] f = new byte[4];
            java.nio.ByteBuffer.wrap(f).order(java.nio.ByteOrder.nativeOrder()).putInt(0, NetlinkMessages.IFA_F_NODAD);
            attrs.add(Map.entry(NetlinkMessages.IFA_FLAGS, f));
        }
        int s = ++seq;
        socket.send(NetlinkMessages.request(type, NetlinkMessages.NLM_F_REQUEST | NetlinkMessages.NLM_F_ACK | flags, s,
                ifa, attrs));
        for (int i = 0; i < MAX_REPLIES; i++) {
            int n = socket.receive(0);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new NativeException("recv(netlink ack)", -n);
            }
            try {
                for (NetlinkMessages.Message m : NetlinkMessages.split(socket.data(), n)) {
                    if (m.seq() == s && m.type() == NetlinkMessages.NLMSG_ERROR) {
                        return -NetlinkMessages.error(m);
                    }
                }
            } catch (NetlinkMessages.MalformedMessageException e) {
                throw new IllegalStateException("malformed netlink ack: " + e.getMessage());
            }
        }
        throw new IllegalStateException("no netlink ack after " + MAX_REPLIES + " datagrams");
    }

    private List<NetlinkMessages.Message> dump(int type, byte[] fixed) {
        return socket.dump(type, fixed, ++seq);
    }

    static String text(byte[] a) {
        if (a.length == 4) {
            return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < a.length; i += 2) {
            sb.append(i == 0 ? "" : ":").append(Integer.toHexString(((a[i] & 0xff) << 8) | (a[i + 1] & 0xff)));
        }
        return sb.toString();
    }

    @Override
    public void close() {
        socket.close();
    }
}
