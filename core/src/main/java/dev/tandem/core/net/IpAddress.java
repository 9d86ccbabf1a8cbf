package dev.tandem.core.net;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * An IPv4 or IPv6 address as raw network-order bytes. Parsing is done here, by hand, so that
 * no user text ever reaches a resolver (InetAddress.getByName may do DNS lookups).
 */
public final class IpAddress implements Comparable<IpAddress> {
    private final byte[] bytes;

    private IpAddress(byte[] bytes) {
        this.bytes = bytes;
    }

    public static IpAddress of(byte[] bytes) {
        if (bytes == null || (bytes.length != 4 && bytes.length != 16)) {
            throw new IllegalArgumentException("an IP address has 4 or 16 bytes, got "
                    + (bytes == null ? "none" : bytes.length));
        }
        return new IpAddress(bytes.clone());
    }

    /** Parses dotted IPv4 or RFC 4291 IPv6 text (with :: compression, optional embedded IPv4). */
    public static IpAddress parse(String text) {
        byte[] b = text.indexOf(':') >= 0 ? parse6(text) : parse4(text);
        if (b == null) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 or IPv6 address");
        }
        return new IpAddress(b);
    }

    /** Returns null instead of throwing. */
    public static IpAddress tryParse(String text) {
        if (text == null || text.isEmpty() || text.length() > 45) {
            return null;
        }
        byte[] b = text.indexOf(':') >= 0 ? parse6(text) : parse4(text);
        return b == null ? null : new IpAddress(b);
    }

    private static byte[] parse4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3) {
                return null;
            }
            int v = 0;
            for (int k = 0; k < p.length(); k++) {
                char c = p.charAt(k);
                if (c < '0' || c > '9') {
                    return null;
                }
                v = v * 10 + (c - '0');
            }
            if (v > 255 || (p.length() > 1 && p.charAt(0) == '0')) {
                return null;
            }
            out[i] = (byte) v;
        }
        return out;
    }

    private static byte[] parse6(String s) {
        if (s.isEmpty() || s.length() > 45) {
            return null;
        }
        int dbl = s.indexOf("::");
        if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) {
            return null;
        }
        String head = dbl >= 0 ? s.substring(0, dbl) : s;
        String tail = dbl >= 0 ? s.substring(dbl + 2) : "";
        int[] h = groups(head, dbl < 0 || tail.isEmpty());
        int[] t = dbl >= 0 ? groups(tail, true) : new int[0];
        if (h == null || t == null) {
            return null;
        }
        int total = h.length + t.length;
        if ((dbl < 0 && total != 8) || (dbl >= 0 && total > 7)) {
            return null;
        }
        int[] g = new int[8];
        System.arraycopy(h, 0, g, 0, h.length);
        System.arraycopy(t, 0, g, 8 - t.length, t.length);
        byte[] out = new byte[16];
        for (int i = 0; i < 8; i++) {
            out[2 * i] = (byte) (g[i] >> 8);
            out[2 * i + 1] = (byte) g[i];
        }
        return out;
    }

    /** Hex groups; an embedded IPv4 is allowed as the last part when allowV4 is true. */
    private static int[] groups(String s, boolean allowV4) {
        if (s.isEmpty()) {
            return new int[0];
        }
        String[] parts = s.split(":", -1);
        int n = parts.length;
        boolean v4 = allowV4 && parts[n - 1].indexOf('.') >= 0;
        int[] out = new int[v4 ? n + 1 : n];
        for (int i = 0; i < n; i++) {
            String p = parts[i];
            if (v4 && i == n - 1) {
                byte[] b = parse4(p);
                if (b == null) {
                    return null;
                }
                out[i] = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
                out[i + 1] = ((b[2] & 0xff) << 8) | (b[3] & 0xff);
                continue;
            }
            if (p.isEmpty() || p.length() > 4) {
                return null;
            }
            int v = 0;
            for (int k = 0; k < p.length(); k++) {
                int d = Character.digit(p.charAt(k), 16);
                if (d < 0) {
                    return null;
                }
                v = (v << 4) | d;
            }
            out[i] = v;
        }
        return out;
    }

    public boolean isIpv6() {
        return bytes.length == 16;
    }

    public boolean isIpv6LinkLocal() {
        return isIpv6() && (bytes[0] & 0xff) == 0xfe && (bytes[1] & 0xc0) == 0x80;
    }

    public int length() {
        return bytes.length;
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public int byteAt(int i) {
        return bytes[i] & 0xff;
    }

    @Override
    public int compareTo(IpAddress o) {
        if (bytes.length != o.bytes.length) {
            return Integer.compare(bytes.length, o.bytes.length);
        }
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpAddress a && Arrays.equals(bytes, a.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        if (!isIpv6()) {
            return byteAt(0) + "." + byteAt(1) + "." + byteAt(2) + "." + byteAt(3);
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (byteAt(2 * i) << 8) | byteAt(2 * i + 1);
        }
        // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestLen = j - i;
                bestStart = i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    public String toHex() {
        return HexFormat.of().formatHex(bytes);
    }
}
