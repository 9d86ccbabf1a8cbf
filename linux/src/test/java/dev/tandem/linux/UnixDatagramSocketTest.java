package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixDatagramSocketTest {
    @TempDir
    Path dir;

    @Test
    void aDatagramReachesTheBoundSocket() {
        String path = dir.resolve("log").toString();
        try (UnixDatagramSocket server = UnixDatagramSocket.bind(path); UnixDatagramSocket client = UnixDatagramSocket.open()) {
            client.send(path, "<13>hello".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(server.receive(1000), StandardCharsets.UTF_8)).isEqualTo("<13>hello");
            assertThat(server.receive(10)).isNull();
        }
    }

    @Test
    void sendingToNobodyFailsWithTheReason() {
        try (UnixDatagramSocket client = UnixDatagramSocket.open()) {
            assertThatThrownBy(() -> client.send(dir.resolve("none").toString(), new byte[]{1}))
                    .isInstanceOf(NativeException.class).hasMessageContaining("ENOENT");
        }
    }
}
