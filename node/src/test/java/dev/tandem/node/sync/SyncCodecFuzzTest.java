package dev.tandem.node.sync;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/** Session-sync frames and sessions from a peer (or an attacker): decoded, or refused with a reason. */
class SyncCodecFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void decodersNeverCrash(FuzzedDataProvider data) {
        byte[] b = data.consumeRemainingAsBytes();
        try {
            SyncFrameCodec.decode(b);
        } catch (SyncFrameCodec.BadFrame e) {
            // refused with a reason
        }
        try {
            ByteArrayInputStream in = new ByteArrayInputStream(b);
            for (int i = 0; i < 100 && SyncFrameCodec.read(in) != null; i++) {
                // frames until the stream ends or is refused
            }
        } catch (IOException e) {
            // BadFrame or EOF inside a frame: the connection would be closed
        }
        try {
            SessionCodec.decode(b);
        } catch (SessionCodec.BadSession e) {
            // refused with a reason
        }
    }
}
