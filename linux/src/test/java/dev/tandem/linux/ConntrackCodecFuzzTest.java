package dev.tandem.linux;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * Garbage from a netlink socket never crashes the ctnetlink decoder: it decodes or throws
 * DecodeException. Half the inputs are valid messages with fuzzed edits (to reach deep into nested
 * attributes), half raw bytes. Whatever decodes re-encodes and decodes to the same entry.
 */
class ConntrackCodecFuzzTest {
    private static final List<ConntrackEntry> SAMPLES = ConntrackCodecTest.samples();

    @FuzzTest(maxDuration = "10s")
    void decoderOnlyThrowsDecodeException(FuzzedDataProvider data) {
        byte[] bytes;
        if (data.consumeBoolean()) {
            bytes = ConntrackCodec.update(SAMPLES.get(data.consumeInt(0, SAMPLES.size() - 1)), 1);
            int edits = data.consumeInt(1, 8);
            for (int i = 0; i < edits && data.remainingBytes() > 0; i++) {
                bytes[data.consumeInt(0, bytes.length - 1)] = data.consumeByte();
            }
            if (data.consumeBoolean()) {
                bytes = java.util.Arrays.copyOf(bytes, data.consumeInt(0, bytes.length));
            }
        } else {
            bytes = data.consumeRemainingAsBytes();
        }
        byte[] datagram = bytes;
        try {
            ConntrackCodec.forEachMessage(datagram, datagram.length, (type, flags, seq, buf, off, len) -> {
                try {
                    ConntrackEvent e = ConntrackCodec.decodeEvent(buf, off, len);
                    ConntrackEntry again = ConntrackCodec.decode(ConntrackCodec.update(e.entry(), 2));
                    if (!again.sameFlow(e.entry()) || again.mark() != e.entry().mark()
                            || again.timeoutSeconds() != e.entry().timeoutSeconds()
                            || !java.util.Objects.equals(again.tcp(), e.entry().tcp())) {
                        throw new IllegalStateException("re-encoding changed " + e.entry() + " into " + again);
                    }
                } catch (ConntrackCodec.DecodeException e) {
                    if (e.getMessage() == null || e.getMessage().isBlank()) {
                        throw new IllegalStateException("rejection without a reason");
                    }
                }
            });
        } catch (ConntrackCodec.DecodeException e) {
            // expected for garbage
        }
        try {
            ConntrackCodec.decode(datagram);
        } catch (ConntrackCodec.DecodeException e) {
            // expected
        }
    }
}
