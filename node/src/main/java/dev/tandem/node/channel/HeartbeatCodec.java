package dev.tandem.node.channel;

import dev.tandem.core.ha.NodeState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Heartbeat datagrams: "TH", version, state, priority, name length, name, u64 sequence, and the
 * first 16 bytes of an HMAC-SHA256 over all that with the sender's heartbeat key (sent to its peers
 * inside the TLS channel's hello). Small, so they go out every 2 ms on their own UDP path rather
 * than queue behind the TLS stream.
 */
public final class HeartbeatCodec {
    static final int MAC_LEN = 16;

    public record Heartbeat(String node, NodeState state, int priority, long seq) {}

    private HeartbeatCodec() {}

    public static byte[] encode(Heartbeat h, byte[] key) {
        byte[] name = h.node().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(6 + name.length + 8 + MAC_LEN);
        b.put((byte) 'T').put((byte) 'H').put((byte) 1).put((byte) h.state().ordinal()).put((byte) h.priority())
                .put((byte) name.length).put(name).putLong(h.seq());
        byte[] mac = mac(key, b.array(), b.position());
        b.put(mac, 0, MAC_LEN);
        return b.array();
    }

    /** The sender's name, or null when the packet is not a heartbeat (so the key can be looked up). */
    public static String sender(byte[] p, int len) {
        if (len < 6 || p[0] != 'T' || p[1] != 'H' || p[2] != 1) {
            return null;
        }
        int n = p[5] & 0xff;
        if (len != 6 + n + 8 + MAC_LEN) {
            return null;
        }
        return new String(p, 6, n, StandardCharsets.UTF_8);
    }

    /** Verifies and decodes; null when the format or the MAC is wrong. */
    public static Heartbeat decode(byte[] p, int len, byte[] key) {
        String name = sender(p, len);
        if (name == null || key == null) {
            return null;
        }
        int body = len - MAC_LEN;
        byte[] want = mac(key, p, body);
        byte[] got = new byte[MAC_LEN];
        System.arraycopy(p, body, got, 0, MAC_LEN);
        byte[] w16 = new byte[MAC_LEN];
        System.arraycopy(want, 0, w16, 0, MAC_LEN);
        if (!MessageDigest.isEqual(w16, got)) {
            return null;
        }
        int st = p[3] & 0xff;
        if (st >= NodeState.values().length) {
            return null;
        }
        long seq = ByteBuffer.wrap(p, body - 8, 8).getLong();
        return new Heartbeat(name, NodeState.values()[st], p[4] & 0xff, seq);
    }

    private static byte[] mac(byte[] key, byte[] data, int len) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            m.update(data, 0, len);
            return m.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
