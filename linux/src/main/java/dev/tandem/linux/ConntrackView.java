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

    // ---- filling a view from elsewhere than a ctnetlink message (session sync's cached values, an entry)

    /**
     * Starts a view of a new entry: everything but the tuples, which {@link #tuple} sets; no TCP info (see
     * {@link #tcp}), no id, type NEW. Values are checked as {@link ConntrackEntry}'s constructor checks them.
     */
    public ConntrackView entry(ConntrackEntry.Family family, int protocol, int status, long timeoutSeconds, int mark, int zone) {
        check("protocol", protocol, 0xff);
        check("zone", zone, 0xffff);
        if (timeoutSeconds < 0 || timeoutSeconds > 0xffffffffL) {
            throw new IllegalArgumentException("timeoutSeconds " + timeoutSeconds + " is not a u32");
        }
        this.type = ConntrackEvent.Type.NEW;
        this.family = java.util.Objects.requireNonNull(family, "family");
        this.protocol = protocol;
        this.status = status;
        this.timeoutSeconds = timeoutSeconds;
        this.mark = mark;
        this.zone = zone;
        this.hasTcp = false;
        this.hasId = false;
        this.id = 0;
        return this;
    }

    /**
     * Sets the {@link #ORIGINAL} or {@link #REPLY} tuple: the source address at buf[offset], the destination
     * right after it ({@link #addressLength()} bytes each, of the family {@link #entry} set).
     */
    public ConntrackView tuple(int direction, byte[] buf, int offset, int sourcePort, int destinationPort, int icmpId,
            int icmpType, int icmpCode) {
        if (direction != ORIGINAL && direction != REPLY) {
            throw new IllegalArgumentException("direction " + direction);
        }
        int n = addressLength();
        if (offset < 0 || offset > buf.length - 2 * n) {
            throw new IllegalArgumentException("two " + n + "-byte addresses at " + offset + " outside " + buf.length + " bytes");
        }
        check("sourcePort", sourcePort, 0xffff);
        check("destinationPort", destinationPort, 0xffff);
        check("icmpId", icmpId, 0xffff);
        check("icmpType", icmpType, 0xff);
        check("icmpCode", icmpCode, 0xff);
        System.arraycopy(buf, offset, source[direction], 0, n);
        System.arraycopy(buf, offset + n, destination[direction], 0, n);
        this.sourcePort[direction] = sourcePort;
        this.destinationPort[direction] = destinationPort;
        this.icmpId[direction] = icmpId;
        this.icmpType[direction] = icmpType;
        this.icmpCode[direction] = icmpCode;
        return this;
    }

    /** Attaches TCP state and window tracking flags (ignored by the encoder unless the protocol is TCP). */
    public ConntrackView tcp(int state, int originalWindowScale, int replyWindowScale, int originalFlags, int replyFlags) {
        check("state", state, 0xff);
        check("originalWindowScale", originalWindowScale, 0xff);
        check("replyWindowScale", replyWindowScale, 0xff);
        check("originalFlags", originalFlags, 0xff);
        check("replyFlags", replyFlags, 0xff);
        hasTcp = true;
        tcpState = state;
        tcpOriginalWindowScale = originalWindowScale;
        tcpReplyWindowScale = replyWindowScale;
        tcpOriginalFlags = originalFlags;
        tcpReplyFlags = replyFlags;
        return this;
    }

    /** Fills the view from an entry (its id and all). */
    public ConntrackView load(ConntrackEntry e) {
        entry(e.family(), e.protocol(), e.status(), e.timeoutSeconds(), e.mark(), e.zone());
        load(ORIGINAL, e.original());
        load(REPLY, e.reply());
        if (e.tcp() != null) {
            ConntrackEntry.TcpInfo t = e.tcp();
            tcp(t.state(), t.originalWindowScale(), t.replyWindowScale(), t.originalFlags(), t.replyFlags());
        }
        if (e.id().isPresent()) {
            hasId = true;
            id = e.id().getAsLong();
        }
        return this;
    }

    private void load(int d, ConntrackEntry.Tuple t) {
        byte[] s = t.source().getAddress();
        byte[] x = t.destination().getAddress();
        System.arraycopy(s, 0, source[d], 0, s.length);
        System.arraycopy(x, 0, destination[d], 0, x.length);
        sourcePort[d] = t.sourcePort();
        destinationPort[d] = t.destinationPort();
        icmpId[d] = t.icmpId();
        icmpType[d] = t.icmpType();
        icmpCode[d] = t.icmpCode();
    }

    /** Replies go to another address or port than the original source: source NAT (see {@link ConntrackEntry#isSourceNat()}). */
    public boolean isSourceNat() {
        int n = addressLength();
        return !Arrays.equals(destination[REPLY], 0, n, source[ORIGINAL], 0, n) || destinationPort[REPLY] != sourcePort[ORIGINAL]
                || (ConntrackEntry.isIcmp(protocol) && icmpId[REPLY] != icmpId[ORIGINAL]);
    }

    /** Replies come from another address or port than the original destination (see {@link ConntrackEntry#isDestinationNat()}). */
    public boolean isDestinationNat() {
        int n = addressLength();
        return !Arrays.equals(source[REPLY], 0, n, destination[ORIGINAL], 0, n) || sourcePort[REPLY] != destinationPort[ORIGINAL];
    }

    private static void check(String what, int v, int max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException(what + " " + v + " outside 0.." + max);
        }
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
