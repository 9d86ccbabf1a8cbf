package dev.tandem.node.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The SMTP client's own rules, without a mail server. */
class AlertSmtpClientTest {

    private static SmtpSink sink(int port, Duration timeout) {
        return new SmtpSink(new SmtpSink.Settings("127.0.0.1", port, "fw1", "tandem@localhost", List.of("ops@localhost"), timeout));
    }

    @Test
    void dotStuffing() {
        assertThat(SmtpSink.dotStuff(".\r\na.b\r\n..x\r\n")).isEqualTo("..\r\na.b\r\n...x\r\n");
        assertThat(SmtpSink.dotStuff("no end")).isEqualTo("no end\r\n");
    }

    @Test
    void nonAsciiGoesAsBase64AndHeadersCannotBeInjected() {
        Alert a = new Alert(Instant.EPOCH, "fw1", Alert.Kind.GROUP, "Grüne", "MASTER", 1, "Übernahme\r\nBcc: evil@x");
        String m = sink(25, Duration.ofSeconds(1)).message(a);
        String headers = m.substring(0, m.indexOf("\r\n\r\n"));
        assertThat(headers).contains("Subject: =?UTF-8?B?", "Content-Transfer-Encoding: base64").doesNotContain("Bcc");
        String body = new String(Base64.getMimeDecoder().decode(m.substring(m.indexOf("\r\n\r\n") + 4)), StandardCharsets.UTF_8);
        assertThat(body).startsWith("Übernahme\nBcc: evil@x\n");
        assertThatThrownBy(() -> new SmtpSink.Settings("h", 25, "fw1", "a@b\r\nRCPT TO:<x@y>", List.of("c@d"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSilentServerTimesOut() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (Socket s = server.accept()) {
                    Thread.sleep(5000);
                } catch (Exception ignored) {
                    // test over
                }
            });
            long start = System.nanoTime();
            assertThatThrownBy(() -> sink(server.getLocalPort(), Duration.ofMillis(300)).deliver(AlertDispatcherTest.alert("MASTER")))
                    .isInstanceOf(IOException.class).hasMessageContaining("no answer within 300 ms");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        }
    }

    @Test
    void aServerThatIsNotSmtpIsRefused() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (Socket s = server.accept()) {
                    s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    s.getInputStream().read();
                } catch (IOException ignored) {
                    // test over
                }
            });
            assertThatThrownBy(() -> sink(server.getLocalPort(), Duration.ofSeconds(2)).deliver(AlertDispatcherTest.alert("MASTER")))
                    .isInstanceOf(IOException.class).hasMessageContaining("not an SMTP reply");
        }
    }
}
