package dev.tandem.linux;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.OptionalLong;

/**
 * A ctnetlink message decoded into a reusable holder, without allocating: what a {@link ConntrackEntry}
 * holds, as primitives and address bytes, plus the event type. {@link ConntrackCodec#decodeInto} fills it
 * with the same checks as {@link ConntrackCodec#decode} (which builds its entry from one); a hot reader
 * (session sync reads every conntrack event of a busy firewall) decodes into one view again and again
 * and copies out only what it keeps.
 *
 * <p>Not thread-safe; its contents are valid until the next decode into it. Tuple fields are normalised
 * as in {@link ConntrackEntry.Tuple}: ports only for protocols with ports, ICMP id/type/code only for
 * ICMP and ICMPv6, 0 otherwise.
 */
public final class ConntrackView {
    public static final int ORIGINAL = 0;
    public static final int REPLY = 1;

    ConntrackEvent.Type type = ConntrackEvent.Type.NEW;
    ConntrackEntry.Family family = ConntrackEntry.Family.IPV4;
    int protocol;
    int status;
    long timeoutSeconds;
    int mark;
    int zone;
    boolean hasId;
    long id;
    boolean hasTcp;
    int tcpState;
    int tcpOriginalWindowScale;
    int tcpReplyWindowScale;
    int tcpOriginalFlags;
    int tcpReplyFlags;
    final byte[][] source = {new byte[16], new byte[16]};
    final byte[][] destination = {new byte[16], new byte[16]};
    final int[] sourcePort = new int[2];
    final int[] destinationPort = new int[2];
    final int[] icmpId = new int[2];
    final int[] icmpType = new int[2];
    final int[] icmpCode = new int[2];

    /** Event kind (NEW / UPDATE / DESTROY) when decoded from a notification; NEW for a dump reply. */
    public ConntrackEvent.Type type() {
        return type;
    }

    public ConntrackEntry.Family family() {
        return family;
    }

    /** 4 or 16: how many bytes of {@link #source} / {@link #destination} are the address. */
    public int addressLength() {
        return family.addressLength();
    }

    public int protocol() {
        return protocol;
    }

    public int status() {
        return status;
    }

    public long timeoutSeconds() {
        return timeoutSeconds;
    }

    public int mark() {
        return mark;
    }

    public int zone() {
        return zone;
    }

    public boolean hasTcp() {
        return hasTcp;
    }

    public int tcpState() {
        return tcpState;
    }

    public int tcpOriginalWindowScale() {
        return tcpOriginalWindowScale;
    }

    public int tcpReplyWindowScale() {
        return tcpReplyWindowScale;
    }

    public int tcpOriginalFlags() {
        return tcpOriginalFlags;
    }

    public int tcpReplyFlags() {
        return tcpReplyFlags;
    }

    /**
     * The source address of the {@link #ORIGINAL} or {@link #REPLY} tuple: this view's own array (do not
     * keep or change it), of which the first {@link #addressLength()} bytes count.
     */
    public byte[] source(int direction) {
        return source[direction];
    }

    /** The destination address of a tuple; see {@link #source(int)}. */
    public byte[] destination(int direction) {
        return destination[direction];
    }

    public int sourcePort(int direction) {
        return sourcePort[direction];
    }

    public int destinationPort(int direction) {
        return destinationPort[direction];
    }

    public int icmpId(int direction) {
        return icmpId[direction];
    }

    public int icmpType(int direction) {
        return icmpType[direction];
    }

    public int icmpCode(int direction) {
        return icmpCode[direction];
    }

    /** The view as an entry (allocates). */
    public ConntrackEntry toEntry() {
        ConntrackEntry.TcpInfo tcp = hasTcp ? new ConntrackEntry.TcpInfo(tcpState, tcpOriginalWindowScale, tcpReplyWindowScale,
                tcpOriginalFlags, tcpReplyFlags) : null;
        return new ConntrackEntry(family, protocol, tuple(ORIGINAL), tuple(REPLY), status, timeoutSeconds, mark, zone, tcp,
                hasId ? OptionalLong.of(id) : OptionalLong.empty());
    }

    private ConntrackEntry.Tuple tuple(int d) {
        return new ConntrackEntry.Tuple(address(source[d]), address(destination[d]), sourcePort[d], destinationPort[d],
                icmpId[d], icmpType[d], icmpCode[d]);
    }

    private InetAddress address(byte[] a) {
        try {
            // Inet6Address.getByAddress keeps IPv4-mapped IPv6 addresses IPv6 (InetAddress.getByAddress would not)
            return family == ConntrackEntry.Family.IPV4 ? Inet4Address.getByAddress(Arrays.copyOf(a, 4))
                    : Inet6Address.getByAddress(null, Arrays.copyOf(a, 16), -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes: never
        }
    }
}
