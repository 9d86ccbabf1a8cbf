package dev.tandem.node.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.linux.UnixDatagramSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Events reach a syslog socket as RFC 3164 lines, facility daemon, severity by kind. */
class SystemLogTest {
    @TempDir
    Path dir;

    @Test
    void formatsBySeverity() {
        ZonedDateTime t = ZonedDateTime.of(2026, 11, 3, 9, 5, 7, 0, ZoneOffset.UTC);
        assertThat(new String(SystemLog.format("tandem[1]", "TRANSITION", "fw1 PASSIVE -> ACTIVE: x", t),
                StandardCharsets.UTF_8)).isEqualTo("<29>Nov  3 09:05:07 tandem[1]: TRANSITION fw1 PASSIVE -> ACTIVE: x");
        assertThat(new String(SystemLog.format("t", "ALARM", "a", t), StandardCharsets.UTF_8)).startsWith("<28>");
        assertThat(new String(SystemLog.format("t", "INFO", "a", t), StandardCharsets.UTF_8)).startsWith("<30>");
    }

    @Test
    void eventsArriveAtTheSocket() {
        String path = dir.resolve("log").toString();
        try (UnixDatagramSocket server = UnixDatagramSocket.bind(path); SystemLog log = new SystemLog(path, "tandem")) {
            log.write("ALARM", "fw2: control link to fw1 is silent");
            byte[] got = server.receive(3000);
            assertThat(got).isNotNull();
            assertThat(new String(got, StandardCharsets.UTF_8)).startsWith("<28>").contains("tandem[")
                    .endsWith("ALARM fw2: control link to fw1 is silent");
        }
    }
}
