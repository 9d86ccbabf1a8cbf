package dev.tandem.node.alerts;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Delivers an alert as a plain-text e-mail through an SMTP server (typically the local MTA or a relay on the
 * management network), with a minimal SMTP client of its own: {@code EHLO} (or {@code HELO}), {@code MAIL FROM},
 * {@code RCPT TO} for each recipient, {@code DATA} (dot-stuffed), {@code QUIT}. Every reply code is checked; any
 * refusal is a failure (the dispatcher retries). The whole conversation is bounded by the timeout.
 *
 * <p>Not supported: STARTTLS, SMTP AUTH. Point it at an MTA on the same host or a trusted network that relays.
 *
 * <p>Subject: {@code [tandem] fw1: INSTANCE VG1 is MASTER (priority 100)}; body: the alert's text, then its
 * fields. ASCII bodies go as 7bit text, others as UTF-8 in base64.
 */
public final class SmtpSink implements AlertSink {

    /**
     * Where and to whom.
     *
     * @param host     SMTP server
     * @param port     its port (25, or whatever the local MTA listens on)
     * @param heloName the name this host gives in EHLO (e.g. its FQDN)
     * @param from     envelope and header sender, {@code user@domain}
     * @param to       recipients, {@code user@domain}, 1..50
     * @param timeout  bounds connecting and the whole conversation
     */
    public record Settings(String host, int port, String heloName, String from, List<String> to, Duration timeout) {
        public Settings {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(heloName, "heloName");
            Objects.requireNonNull(timeout, "timeout");
            if (host.isBlank()) throw new IllegalArgumentException("SMTP host must not be blank");
            if (port < 1 || port > 65535) throw new IllegalArgumentException("SMTP port must be 1..65535: " + port);
            if (!HELO.matcher(heloName).matches()) throw new IllegalArgumentException("bad EHLO name: " + heloName);
            checkAddress("from", from);
            to = List.copyOf(to);
            if (to.isEmpty() || to.size() > 50) throw new IllegalArgumentException("SMTP needs 1..50 recipients, got " + to.size());
            for (String t : to) checkAddress("to", t);
            if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        }
    }

    private static final Pattern ADDRESS = Pattern.compile("[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}");
    private static final Pattern HELO = Pattern.compile("[A-Za-z0-9.-]{1,253}|\\[[0-9a-fA-F.:]{2,45}]");
    private static final int MAX_REPLY_LINE = 2048;
    private static final int MAX_REPLY_LINES = 100;
    private static final DateTimeFormatter DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private final Settings settings;

    public SmtpSink(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    private static void checkAddress(String what, String a) {
        Objects.requireNonNull(a, what);
        if (!ADDRESS.matcher(a).matches()) throw new IllegalArgumentException("bad e-mail address for " + what + ": '" + a + "'");
    }

    @Override
    public String name() {
        return "e-mail via " + settings.host() + ":" + settings.port() + " to " + String.join(", ", settings.to());
    }

    @Override
    public void deliver(Alert alert) throws IOException {
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(settings.host(), settings.port()), (int) Math.max(1, settings.timeout().toMillis()));
            Conversation c = new Conversation(s, deadline);
            c.expect("greeting", 220);
            Reply ehlo = c.command("EHLO " + settings.heloName());
            if (ehlo.code() == 500 || ehlo.code() == 502) {
                c.check("HELO", c.command("HELO " + settings.heloName()), 250);
            } else {
                c.check("EHLO", ehlo, 250);
            }
            c.check("MAIL FROM", c.command("MAIL FROM:<" + settings.from() + ">"), 250);
            for (String to : settings.to()) c.check("RCPT TO:<" + to + ">", c.command("RCPT TO:<" + to + ">"), 250, 251);
            c.check("DATA", c.command("DATA"), 354);
            c.send(dotStuff(message(alert)) + ".\r\n");
            c.expect("end of DATA", 250);
            try {
                c.command("QUIT"); // the message is accepted; a missing 221 changes nothing
            } catch (IOException ignored) {
                // best effort
            }
        } catch (SocketTimeoutException e) {
            throw new IOException("SMTP " + settings.host() + ":" + settings.port() + ": no answer within " + settings.timeout().toMillis() + " ms", e);
        }
    }

    /** The message (headers and body, CRLF line ends), before dot-stuffing. */
    String message(Alert a) {
        String subject = "[tandem] " + a.summary();
        String body = a.text() + "\n\n"
                + "node:     " + a.node() + "\n"
                + "kind:     " + a.kind() + "\n"
                + "name:     " + a.name() + "\n"
                + "state:    " + a.state() + "\n"
                + "priority: " + a.priority() + "\n"
                + "time:     " + a.time() + "\n";
        body = body.replace("\r\n", "\n").replace('\r', '\n');
        boolean plain = isAscii(body) && body.lines().allMatch(l -> l.length() <= 990);
        StringBuilder m = new StringBuilder();
        m.append("From: <").append(settings.from()).append(">\r\n");
        m.append("To: ").append(String.join(", ", settings.to().stream().map(t -> "<" + t + ">").toList())).append("\r\n");
        m.append("Subject: ").append(encodeHeader(subject)).append("\r\n");
        m.append("Date: ").append(DATE.format(a.time())).append("\r\n");
        m.append("Message-ID: <").append(UUID.randomUUID()).append('@').append(settings.heloName().replaceAll("[\\[\\]]", "")).append(">\r\n");
        m.append("MIME-Version: 1.0\r\n");
        m.append("Content-Type: text/plain; charset=utf-8\r\n");
        if (plain) {
            m.append("Content-Transfer-Encoding: 7bit\r\n\r\n");
            m.append(body.replace("\n", "\r\n"));
        } else {
            m.append("Content-Transfer-Encoding: base64\r\n\r\n");
            m.append(Base64.getMimeEncoder(76, new byte[] {'\r', '\n'}).encodeToString(body.getBytes(StandardCharsets.UTF_8))).append("\r\n");
        }
        return m.toString();
    }

    /** Doubles a leading '.' on every line (RFC 5321 4.5.2); {@code text} has CRLF line ends and ends with one. */
    static String dotStuff(String text) {
        StringBuilder b = new StringBuilder(text.length() + 16);
        boolean lineStart = true;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (lineStart && c == '.') b.append('.');
            b.append(c);
            lineStart = c == '\n';
        }
        if (!text.endsWith("\r\n")) b.append("\r\n");
        return b.toString();
    }

    private static String encodeHeader(String s) {
        String clean = s.replaceAll("[\\r\\n]", " ");
        if (isAscii(clean)) return clean;
        return "=?UTF-8?B?" + Base64.getEncoder().encodeToString(clean.getBytes(StandardCharsets.UTF_8)) + "?=";
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c > 126 || (c < 32 && c != '\n' && c != '\t')) return false;
        }
        return true;
    }

    private record Reply(int code, String text) { }

    /** One SMTP session: commands out, bounded replies in, every read bounded by the overall deadline. */
    private final class Conversation {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final long deadline;

        Conversation(Socket socket, long deadline) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
            this.deadline = deadline;
        }

        void send(String s) throws IOException {
            out.write(s.getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        Reply command(String line) throws IOException {
            send(line + "\r\n");
            return read();
        }

        void expect(String what, int... codes) throws IOException {
            check(what, read(), codes);
        }

        void check(String what, Reply r, int... codes) throws IOException {
            for (int c : codes) if (r.code() == c) return;
            throw new IOException("SMTP " + settings.host() + ":" + settings.port() + " refused " + what + ": " + r.code() + " " + r.text());
        }

        Reply read() throws IOException {
            StringBuilder text = new StringBuilder();
            for (int n = 0; n < MAX_REPLY_LINES; n++) {
                String line = readLine();
                if (line.length() < 3 || !Character.isDigit(line.charAt(0)) || !Character.isDigit(line.charAt(1)) || !Character.isDigit(line.charAt(2))
                        || (line.length() > 3 && line.charAt(3) != ' ' && line.charAt(3) != '-')) {
                    throw new IOException("SMTP " + settings.host() + ":" + settings.port() + ": not an SMTP reply: '" + line + "'");
                }
                if (!text.isEmpty()) text.append(" / ");
                text.append(line.length() > 4 ? line.substring(4) : "");
                if (line.length() == 3 || line.charAt(3) == ' ') return new Reply(Integer.parseInt(line.substring(0, 3)), text.toString());
            }
            throw new IOException("SMTP reply longer than " + MAX_REPLY_LINES + " lines");
        }

        private String readLine() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream(128);
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new SocketTimeoutException("deadline");
                socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
                int c = in.read();
                if (c < 0) throw new IOException("SMTP " + settings.host() + ":" + settings.port() + " closed the connection");
                if (c == '\n') break;
                if (b.size() >= MAX_REPLY_LINE) throw new IOException("SMTP reply line longer than " + MAX_REPLY_LINE + " bytes");
                b.write(c);
            }
            String s = b.toString(StandardCharsets.ISO_8859_1);
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        }
    }
}
