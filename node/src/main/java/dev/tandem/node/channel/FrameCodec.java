package dev.tandem.node.channel;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Channel frames: magic "TD", version 1, type, u32 length, then the payload: u16 field count and
 * that many u16-length-prefixed UTF-8 fields. Frames are at most 64 KiB; anything else is a
 * {@link FrameException} naming what is wrong, and the connection is closed.
 */
public final class FrameCodec {
    public static final int VERSION = 1;
    public static final int MAX_PAYLOAD = 64 * 1024;
    public static final int MAX_FIELDS = 256;

    public enum Type {
        HELLO(1), RELEASE(2), COMMAND(3), HEALTH(4), CONFIG(5);

        final int code;

        Type(int code) {
            this.code = code;
        }

        static Type of(int code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    public record Frame(Type type, List<String> fields) {
        public String field(int i) {
            return i < fields.size() ? fields.get(i) : "";
        }
    }

    public static final class FrameException extends IOException {
        public FrameException(String m) {
            super(m);
        }
    }

    private FrameCodec() {}

    public static byte[] encode(Type type, List<String> fields) {
        if (fields.size() > MAX_FIELDS) {
            throw new IllegalArgumentException("too many fields: " + fields.size());
        }
        List<byte[]> raw = new ArrayList<>();
        int len = 2;
        for (String f : fields) {
            byte[] b = f.getBytes(StandardCharsets.UTF_8);
            if (b.length > 0xffff) {
                throw new IllegalArgumentException("field longer than 65535 bytes");
            }
            raw.add(b);
            len += 2 + b.length;
        }
        if (len > MAX_PAYLOAD) {
            throw new IllegalArgumentException("frame payload of " + len + " bytes exceeds " + MAX_PAYLOAD);
        }
        ByteBuffer bb = ByteBuffer.allocate(8 + len);
        bb.put((byte) 'T').put((byte) 'D').put((byte) VERSION).put((byte) type.code).putInt(len);
        bb.putShort((short) raw.size());
        for (byte[] b : raw) {
            bb.putShort((short) b.length).put(b);
        }
        return bb.array();
    }

    /** Reads one frame from a stream; EOF before a frame starts returns null. */
    public static Frame read(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        byte[] head = new byte[8];
        int first = d.read();
        if (first < 0) {
            return null;
        }
        head[0] = (byte) first;
        try {
            d.readFully(head, 1, 7);
        } catch (EOFException e) {
            throw new FrameException("connection closed inside a frame header");
        }
        int len = checkHeader(head);
        byte[] payload = new byte[len];
        try {
            d.readFully(payload);
        } catch (EOFException e) {
            throw new FrameException("connection closed inside a " + len + "-byte frame");
        }
        return new Frame(Type.of(head[3] & 0xff), fields(payload));
    }

    /** Decodes one complete frame held in a byte array (used by the fuzz test too). */
    public static Frame decode(byte[] b) throws FrameException {
        if (b.length < 8) {
            throw new FrameException("frame shorter than its 8-byte header");
        }
        int len = checkHeader(b);
        if (b.length - 8 != len) {
            throw new FrameException("frame length " + len + " does not match the " + (b.length - 8) + " bytes given");
        }
        byte[] payload = new byte[len];
        System.arraycopy(b, 8, payload, 0, len);
        return new Frame(Type.of(b[3] & 0xff), fields(payload));
    }

    private static int checkHeader(byte[] h) throws FrameException {
        if (h[0] != 'T' || h[1] != 'D') {
            throw new FrameException(String.format("bad magic 0x%02x%02x (not a Tandem channel frame)", h[0] & 0xff, h[1] & 0xff));
        }
        if ((h[2] & 0xff) != VERSION) {
            throw new FrameException("frame version " + (h[2] & 0xff) + ", this node speaks " + VERSION);
        }
        if (Type.of(h[3] & 0xff) == null) {
            throw new FrameException("unknown frame type " + (h[3] & 0xff));
        }
        long len = ByteBuffer.wrap(h, 4, 4).getInt() & 0xffffffffL;
        if (len > MAX_PAYLOAD) {
            throw new FrameException("oversize frame: " + len + " bytes > " + MAX_PAYLOAD);
        }
        return (int) len;
    }

    private static List<String> fields(byte[] p) throws FrameException {
        if (p.length < 2) {
            throw new FrameException("payload without a field count");
        }
        ByteBuffer b = ByteBuffer.wrap(p);
        int n = b.getShort() & 0xffff;
        if (n > MAX_FIELDS) {
            throw new FrameException(n + " fields > " + MAX_FIELDS);
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            if (b.remaining() < 2) {
                throw new FrameException("field " + i + " has no length");
            }
            int len = b.getShort() & 0xffff;
            if (len > b.remaining()) {
                throw new FrameException("field " + i + " of " + len + " bytes runs past the frame");
            }
            byte[] s = new byte[len];
            b.get(s);
            out.add(new String(s, StandardCharsets.UTF_8));
        }
        if (b.hasRemaining()) {
            throw new FrameException(b.remaining() + " stray bytes after the last field");
        }
        return out;
    }
}
