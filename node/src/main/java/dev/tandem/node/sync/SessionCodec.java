package dev.tandem.node.sync;

import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackView;
import java.nio.ByteBuffer;

/**
 * A conntrack entry as session sync carries it: key = what identifies the flow (family, protocol,
 * zone, original tuple); value = everything needed to re-create it on the peer (both tuples, so
 * NAT survives; status; timeout; mark; TCP state). Version byte first; every read is bounds-checked
 * and garbage gives a {@link SessionCodec.BadSession}, never another exception.
 */
public final class SessionCodec {
    private static final int VERSION = 1;

    public static final class BadSession extends Exception {
        public BadSession(String m) {
            super(m);
        }
    }

    private SessionCodec() {}

    public static byte[] key(ConntrackEntry e) {
        ByteBuffer b = ByteBuffer.allocate(4 + 2 + tupleSize(e.family()));
        b.put((byte) e.family().ordinal()).put((byte) e.protocol()).putShort((short) e.zone());
        putTuple(b, e.original());
        return b.array();
    }

    public static byte[] value(ConntrackEntry e) {
        int size = 1 + 4 + 2 * tupleSize(e.family()) + 4 + 4 + 4 + 1 + (e.tcp() == null ? 0 : 5);
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put((byte) VERSION).put((byte) e.family().ordinal()).put((byte) e.protocol()).putShort((short) e.zone());
        putTuple(b, e.original());
        putTuple(b, e.reply());
        b.putInt(e.status()).putInt((int) e.timeoutSeconds()).putInt(e.mark());
        if (e.tcp() == null) {
            b.put((byte) 0);
        } else {
            var t = e.tcp();
            b.put((byte) 1).put((byte) t.state()).put((byte) t.originalWindowScale()).put((byte) t.replyWindowScale())
                    .put((byte) t.originalFlags()).put((byte) t.replyFlags());
        }
        return b.array();
    }

    /** {@link #key(ConntrackEntry)} of the entry a view holds, the same bytes, without the entry. */
    public static byte[] key(ConntrackView v) {
        int n = v.addressLength();
        byte[] b = new byte[4 + 2 + tupleSize(v.family())];
        b[0] = (byte) v.family().ordinal();
        b[1] = (byte) v.protocol();
        b[2] = (byte) (v.zone() >>> 8);
        b[3] = (byte) v.zone();
        putTuple(b, 4, v, ConntrackView.ORIGINAL, n);
        return b;
    }

    /** {@link #value(ConntrackEntry)} of the entry a view holds, the same bytes, without the entry. */
    public static byte[] value(ConntrackView v) {
        int n = v.addressLength();
        int ts = tupleSize(v.family());
        byte[] b = new byte[1 + 4 + 2 * ts + 4 + 4 + 4 + 1 + (v.hasTcp() ? 5 : 0)];
        b[0] = (byte) VERSION;
        b[1] = (byte) v.family().ordinal();
        b[2] = (byte) v.protocol();
        b[3] = (byte) (v.zone() >>> 8);
        b[4] = (byte) v.zone();
        int p = putTuple(b, 5, v, ConntrackView.ORIGINAL, n);
        p = putTuple(b, p, v, ConntrackView.REPLY, n);
        p = putInt(b, p, v.status());
        p = putInt(b, p, (int) v.timeoutSeconds());
        p = putInt(b, p, v.mark());
        if (!v.hasTcp()) {
            b[p] = 0;
        } else {
            b[p++] = 1;
            b[p++] = (byte) v.tcpState();
            b[p++] = (byte) v.tcpOriginalWindowScale();
            b[p++] = (byte) v.tcpReplyWindowScale();
            b[p++] = (byte) v.tcpOriginalFlags();
            b[p] = (byte) v.tcpReplyFlags();
        }
        return b;
    }

    private static int putTuple(byte[] b, int p, ConntrackView v, int d, int n) {
        System.arraycopy(v.source(d), 0, b, p, n);
        System.arraycopy(v.destination(d), 0, b, p + n, n);
        p += 2 * n;
        p = putShort(b, p, v.sourcePort(d));
        p = putShort(b, p, v.destinationPort(d));
        p = putShort(b, p, v.icmpId(d));
        b[p++] = (byte) v.icmpType(d);
        b[p++] = (byte) v.icmpCode(d);
        return p;
    }

    private static int putShort(byte[] b, int p, int v) {
        b[p] = (byte) (v >>> 8);
        b[p + 1] = (byte) v;
        return p + 2;
    }

    private static int putInt(byte[] b, int p, int v) {
        b[p] = (byte) (v >>> 24);
        b[p + 1] = (byte) (v >>> 16);
        b[p + 2] = (byte) (v >>> 8);
        b[p + 3] = (byte) v;
        return p + 4;
    }

    private static int tupleSize(ConntrackEntry.Family f) {
        return 2 * f.addressLength() + 2 + 2 + 2 + 1 + 1;
    }

    private static void putTuple(ByteBuffer b, ConntrackEntry.Tuple t) {
        b.put(t.source().getAddress()).put(t.destination().getAddress()).putShort((short) t.sourcePort())
                .putShort((short) t.destinationPort()).putShort((short) t.icmpId()).put((byte) t.icmpType())
                .put((byte) t.icmpCode());
    }

    public static ConntrackEntry decode(byte[] value) throws BadSession {
        return load(value, new ConntrackView()).toEntry();
    }

    /**
     * Fills a view with the session a value holds, with the same checks as {@link #decode} but no entry,
     * no address object: a takeover commits up to a million cached values this way. Returns the view.
     */
    public static ConntrackView load(byte[] value, ConntrackView into) throws BadSession {
        if (value == null || value.length < 6) {
            throw new BadSession("session truncated");
        }
        int v = value[0] & 0xff;
        if (v != VERSION) {
            throw new BadSession("session encoding version " + v + " (this node reads " + VERSION + ")");
        }
        int fam = value[1] & 0xff;
        if (fam >= ConntrackEntry.Family.values().length) {
            throw new BadSession("unknown address family " + fam);
        }
        ConntrackEntry.Family family = ConntrackEntry.Family.values()[fam];
        int ts = tupleSize(family);
        int fixed = 5 + 2 * ts + 12 + 1;
        if (value.length < fixed) {
            throw new BadSession("session truncated");
        }
        int hasTcp = value[fixed - 1] & 0xff;
        if (hasTcp > 1) {
            throw new BadSession("bad TCP flag " + hasTcp);
        }
        int size = fixed + 5 * hasTcp;
        if (value.length < size) {
            throw new BadSession("session truncated");
        }
        if (value.length > size) {
            throw new BadSession((value.length - size) + " trailing bytes");
        }
        int p = 5 + 2 * ts;
        try {
            into.entry(family, value[2] & 0xff, getInt(value, p), getInt(value, p + 4) & 0xffffffffL, getInt(value, p + 8),
                    getShort(value, 3));
            tuple(value, 5, family, into, ConntrackView.ORIGINAL);
            tuple(value, 5 + ts, family, into, ConntrackView.REPLY);
            if (hasTcp == 1) {
                into.tcp(value[fixed] & 0xff, value[fixed + 1] & 0xff, value[fixed + 2] & 0xff, value[fixed + 3] & 0xff,
                        value[fixed + 4] & 0xff);
            }
        } catch (IllegalArgumentException e) {
            throw new BadSession("invalid session: " + e.getMessage());
        }
        return into;
    }

    private static void tuple(byte[] b, int p, ConntrackEntry.Family f, ConntrackView into, int d) {
        int q = p + 2 * f.addressLength();
        into.tuple(d, b, p, getShort(b, q), getShort(b, q + 2), getShort(b, q + 4), b[q + 6] & 0xff, b[q + 7] & 0xff);
    }

    private static int getShort(byte[] b, int p) {
        return (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
    }

    private static int getInt(byte[] b, int p) {
        return (b[p] & 0xff) << 24 | (b[p + 1] & 0xff) << 16 | (b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff);
    }
}
