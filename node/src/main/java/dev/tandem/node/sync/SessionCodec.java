package dev.tandem.node.sync;

import dev.tandem.linux.ConntrackEntry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.OptionalLong;

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

    private static int tupleSize(ConntrackEntry.Family f) {
        return 2 * f.addressLength() + 2 + 2 + 2 + 1 + 1;
    }

    private static void putTuple(ByteBuffer b, ConntrackEntry.Tuple t) {
        b.put(t.source().getAddress()).put(t.destination().getAddress()).putShort((short) t.sourcePort())
                .putShort((short) t.destinationPort()).putShort((short) t.icmpId()).put((byte) t.icmpType())
                .put((byte) t.icmpCode());
    }

    public static ConntrackEntry decode(byte[] value) throws BadSession {
        try {
            ByteBuffer b = ByteBuffer.wrap(value);
            int v = b.get() & 0xff;
            if (v != VERSION) {
                throw new BadSession("session encoding version " + v + " (this node reads " + VERSION + ")");
            }
            int fam = b.get() & 0xff;
            if (fam >= ConntrackEntry.Family.values().length) {
                throw new BadSession("unknown address family " + fam);
            }
            ConntrackEntry.Family family = ConntrackEntry.Family.values()[fam];
            int protocol = b.get() & 0xff;
            int zone = b.getShort() & 0xffff;
            ConntrackEntry.Tuple orig = tuple(b, family);
            ConntrackEntry.Tuple reply = tuple(b, family);
            int status = b.getInt();
            long timeout = b.getInt() & 0xffffffffL;
            int mark = b.getInt();
            int hasTcp = b.get() & 0xff;
            ConntrackEntry.TcpInfo tcp = null;
            if (hasTcp == 1) {
                tcp = new ConntrackEntry.TcpInfo(b.get() & 0xff, b.get() & 0xff, b.get() & 0xff, b.get() & 0xff,
                        b.get() & 0xff);
            } else if (hasTcp != 0) {
                throw new BadSession("bad TCP flag " + hasTcp);
            }
            if (b.hasRemaining()) {
                throw new BadSession(b.remaining() + " trailing bytes");
            }
            return new ConntrackEntry(family, protocol, orig, reply, status, timeout, mark, zone, tcp, OptionalLong.empty());
        } catch (BufferUnderflowException e) {
            throw new BadSession("session truncated");
        } catch (IllegalArgumentException e) {
            throw new BadSession("invalid session: " + e.getMessage());
        }
    }

    private static ConntrackEntry.Tuple tuple(ByteBuffer b, ConntrackEntry.Family f) throws BadSession {
        byte[] s = new byte[f.addressLength()];
        byte[] d = new byte[f.addressLength()];
        b.get(s).get(d);
        try {
            return new ConntrackEntry.Tuple(InetAddress.getByAddress(s), InetAddress.getByAddress(d),
                    b.getShort() & 0xffff, b.getShort() & 0xffff, b.getShort() & 0xffff, b.get() & 0xff, b.get() & 0xff);
        } catch (UnknownHostException e) {
            throw new BadSession("bad address");
        }
    }
}
