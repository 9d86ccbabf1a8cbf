package dev.tandem.core.sync;

import java.util.Arrays;
import java.util.HexFormat;

/** A session key as a map key: equal by content. */
public record SessionKey(byte[] bytes) {
    @Override
    public boolean equals(Object o) {
        return o instanceof SessionKey k && Arrays.equals(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HexFormat.of().formatHex(bytes);
    }
}
