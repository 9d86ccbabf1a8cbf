package dev.tandem.node.channel;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/** Channel frames and heartbeats from a peer (or an attacker): decoded, or refused with FrameException. */
class FrameCodecFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void decodersNeverCrash(FuzzedDataProvider data) {
        byte[] b = data.consumeRemainingAsBytes();
        try {
            FrameCodec.decode(b);
        } catch (FrameCodec.FrameException e) {
            // refused with a reason: fine
        }
        try {
            ByteArrayInputStream in = new ByteArrayInputStream(b);
            for (int i = 0; i < 100 && FrameCodec.read(in) != null; i++) {
                // read frames until the stream ends or is refused
            }
        } catch (IOException e) {
            // FrameException (or EOF inside a frame): the connection would be closed
        }
        HeartbeatCodec.decode(b, b.length, new byte[32]);
    }
}
