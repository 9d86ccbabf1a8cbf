package dev.tandem.node.sync;

import dev.tandem.core.sync.SessionChange;
import dev.tandem.core.sync.SyncMessage;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Session-sync frames on the data link: [u32 length][u8 version][u8 type][body]. Bounded: a frame
 * of more than MAX_FRAME bytes, an unknown type or version, or a body that does not add up is a
 * {@link BadFrame} (the connection is closed with that reason), never another exception.
 */
public final class SyncFrameCodec {
    public static final int VERSION = 1;
    public static final int MAX_FRAME = 1 << 20;
    public static final int MAX_CHANGES = 8192;
    private static final int BATCH = 1;
    private static final int BULK_BEGIN = 2;
    private static final int BULK_END = 3;
    private static final int ACK = 4;
    private static final int RESUME = 5;

    public static final class BadFrame extends IOException {
        public BadFrame(String m) {
            super(m);
        }
    }

    private SyncFrameCodec() {}

    public static byte[] encode(SyncMessage m) {
        byte[] out = new byte[4 + bodySize(m)];
        encode(m, out);
        return out;
    }

    /**
     * Encodes the frame into the start of into (reused by a sender: no frame allocated per batch);
     * returns its length. Throws IllegalArgumentException when it does not fit.
     */
    public static int encode(SyncMessage m, byte[] into) {
        int size = bodySize(m);
        if (size + 4 > MAX_FRAME) {
            throw new IllegalArgumentException("frame of " + size + " bytes");
        }
        if (size + 4 > into.length) {
            throw new IllegalArgumentException("frame of " + size + " bytes does not fit " + into.length);
        }
        ByteBuffer b = ByteBuffer.wrap(into, 0, 4 + size);
        b.putInt(size).put((byte) VERSION);
        switch (m) {
            case SyncMessage.Batch x -> {
                if (x.changes().size() > MAX_CHANGES) {
                    throw new IllegalArgumentException("batch of " + x.changes().size() + " changes");
                }
                b.put((byte) BATCH).putLong(x.epoch()).putLong(x.seq()).put((byte) (x.bulk() ? 1 : 0))
                        .putInt(x.changes().size());
                List<SessionChange> changes = x.changes();
                for (int i = 0; i < changes.size(); i++) { // (indexed: no iterator per batch)
                    SessionChange c = changes.get(i);
                    b.put((byte) c.key().length).put(c.key()).putInt(c.timeoutSeconds());
                    if (c.value() == null) {
                        b.putShort((short) -1);
                    } else {
                        b.putShort((short) c.value().length).put(c.value());
                    }
                }
            }
            case SyncMessage.BulkBegin x -> b.put((byte) BULK_BEGIN).putLong(x.epoch());
            case SyncMessage.BulkEnd x -> b.put((byte) BULK_END).putLong(x.epoch()).putLong(x.lastSeq()).putLong(x.entries());
            case SyncMessage.Ack x -> b.put((byte) ACK).putLong(x.epoch()).putLong(x.seq());
            case SyncMessage.Resume x -> b.put((byte) RESUME).putLong(x.epoch()).putLong(x.seq())
                    .put((byte) (x.complete() ? 1 : 0));
        }
        return 4 + size;
    }

    /** Bytes after the length word. */
    private static int bodySize(SyncMessage m) {
        return 2 + switch (m) {
            case SyncMessage.Batch b -> {
                int s = 8 + 8 + 1 + 4;
                List<SessionChange> changes = b.changes();
                for (int i = 0; i < changes.size(); i++) {
                    s += changes.get(i).size();
                }
                yield s;
            }
            case SyncMessage.BulkBegin x -> 8;
            case SyncMessage.BulkEnd x -> 24;
            case SyncMessage.Ack x -> 16;
            case SyncMessage.Resume x -> 17;
        };
    }

    /** Reads one frame; null at a clean end of stream. */
    public static SyncMessage read(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int len;
        try {
            len = d.readInt();
        } catch (EOFException e) {
            return null;
        }
        if (len < 2 || len > MAX_FRAME) {
            throw new BadFrame("frame length " + len + " outside 2.." + MAX_FRAME);
        }
        byte[] body = new byte[len];
        d.readFully(body);
        return decode(body);
    }

    /** Decodes a frame body (after the length). */
    public static SyncMessage decode(byte[] body) throws BadFrame {
        try {
            ByteBuffer b = ByteBuffer.wrap(body);
            int v = b.get() & 0xff;
            if (v != VERSION) {
                throw new BadFrame("sync frame version " + v + " (this node speaks " + VERSION + ")");
            }
            int type = b.get() & 0xff;
            SyncMessage m = switch (type) {
                case BATCH -> {
                    long epoch = b.getLong();
                    long seq = b.getLong();
                    int bulk = b.get() & 0xff;
                    int n = b.getInt();
                    if (n < 0 || n > MAX_CHANGES || bulk > 1 || seq < 0) {
                        throw new BadFrame("batch header out of range (" + n + " changes, bulk " + bulk + ", seq " + seq + ")");
                    }
                    List<SessionChange> changes = new ArrayList<>(Math.min(n, 1024));
                    for (int i = 0; i < n; i++) {
                        int kl = b.get() & 0xff;
                        if (kl == 0 || kl > SessionChange.MAX_KEY) {
                            throw new BadFrame("session key of " + kl + " bytes");
                        }
                        byte[] k = new byte[kl];
                        b.get(k);
                        int timeout = b.getInt();
                        int vl = b.getShort();
                        if (timeout < 0 || vl < -1 || vl > SessionChange.MAX_VALUE) {
                            throw new BadFrame("session change out of range (timeout " + timeout + ", value " + vl + " bytes)");
                        }
                        byte[] val = null;
                        if (vl >= 0) {
                            val = new byte[vl];
                            b.get(val);
                        }
                        changes.add(new SessionChange(k, val, val == null ? 0 : timeout));
                    }
                    yield new SyncMessage.Batch(epoch, seq, bulk == 1, changes);
                }
                case BULK_BEGIN -> new SyncMessage.BulkBegin(b.getLong());
                case BULK_END -> new SyncMessage.BulkEnd(b.getLong(), b.getLong(), b.getLong());
                case ACK -> new SyncMessage.Ack(b.getLong(), b.getLong());
                case RESUME -> {
                    long e = b.getLong();
                    long s = b.getLong();
                    int c = b.get() & 0xff;
                    if (c > 1) {
                        throw new BadFrame("resume flag " + c);
                    }
                    yield new SyncMessage.Resume(e, s, c == 1);
                }
                default -> throw new BadFrame("unknown sync frame type " + type);
            };
            if (b.hasRemaining()) {
                throw new BadFrame(b.remaining() + " trailing bytes in a sync frame");
            }
            return m;
        } catch (BufferUnderflowException e) {
            throw new BadFrame("sync frame truncated");
        }
    }
}
