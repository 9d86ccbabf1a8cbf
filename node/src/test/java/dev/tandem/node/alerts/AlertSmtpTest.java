package dev.tandem.node.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * E-mail alerts delivered to a real MTA: Debian's OpenSMTPD ({@code opensmtpd}, installed by
 * scripts/setup-debian.sh), started here in the foreground on 127.0.0.1 and a free port, delivering to a Maildir
 * in a temporary folder (as the system user {@code nobody}, since OpenSMTPD refuses to deliver as root).
 * OpenSMTPD itself must run as root; the tests are skipped otherwise.
 */
class AlertSmtpTest {

    private static final Path SMTPD = Path.of("/usr/sbin/smtpd");

    private static Path dir;
    private static Path maildir;
    private static Path log;
    private static Process smtpd;
    private static int port;

    @BeforeAll
    static void startSmtpd() throws Exception {
        assumeThat(System.getProperty("user.name")).as("OpenSMTPD runs as root only").isEqualTo("root");
        if (!Files.isExecutable(SMTPD)) {
            // setup-debian.sh installs OpenSMTPD unless another MTA owns /usr/sbin/sendmail
            assumeThat(Path.of("/usr/sbin/sendmail")).as("another MTA is installed instead of OpenSMTPD").doesNotExist();
            assertThat(SMTPD).as("OpenSMTPD missing: run scripts/setup-debian.sh as root").isExecutable();
        }
        dir = Files.createTempDirectory("tandem-smtpd");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        maildir = Files.createDirectory(dir.resolve("Maildir"));
        UserPrincipal nobody = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.setOwner(maildir, nobody);
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path conf = dir.resolve("smtpd.conf");
        Files.writeString(conf, """
                listen on 127.0.0.1 port %d
                action "maildir" maildir "%s"
                match from local for local action "maildir"
                """.formatted(port, maildir));
        Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rw-------"));
        log = dir.resolve("smtpd.log");
        smtpd = new ProcessBuilder(SMTPD.toString(), "-d", "-f", conf.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                if (!smtpd.isAlive() || System.nanoTime() > until) {
                    throw new IllegalStateException("OpenSMTPD did not start on port " + port + ":\n" + Files.readString(log), e);
                }
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    static void stopSmtpd() throws Exception {
        if (smtpd == null) return;
        List<ProcessHandle> children = smtpd.descendants().toList();
        smtpd.destroy();
        if (!smtpd.waitFor(5, TimeUnit.SECONDS)) {
            children.forEach(ProcessHandle::destroyForcibly);
            smtpd.destroyForcibly();
        }
        for (ProcessHandle c : children) c.onExit().get(5, TimeUnit.SECONDS);
    }

    private static SmtpSink sink(String to) {
        return new SmtpSink(new SmtpSink.Settings("127.0.0.1", port, "fw1.tandem.test", "tandem@localhost", List.of(to), Duration.ofSeconds(5)));
    }

    private static List<Path> delivered() throws IOException {
        Path fresh = maildir.resolve("new");
        if (!Files.isDirectory(fresh)) return List.of();
        try (Stream<Path> s = Files.list(fresh)) {
            return s.toList();
        }
    }

    @Test
    void anAlertArrivesInTheMailbox() throws Exception {
        Alert a = new Alert(Instant.parse("2026-11-23T12:00:00Z"), "fw1", Alert.Kind.INSTANCE, "VG1", "MASTER", 100,
                "fw1 became ACTIVE: fw2 silent on control link for 1.02 s\n.\n..two dots\n.one dot");
        List<DeliveryFailure> failures = new CopyOnWriteArrayList<>();
        try (AlertDispatcher d = AlertDispatcher.builder().sink(sink("nobody@localhost"), AlertDispatcherTest.FAST)
                .onFailure(failures::add).build()) {
            d.dispatch(a);
        }
        assertThat(failures).isEmpty();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (delivered().isEmpty() && System.nanoTime() < until) Thread.sleep(50);
        assertThat(delivered()).as("nothing in %s; smtpd log:%n%s", maildir, Files.readString(log)).hasSize(1);
        String mail = Files.readString(delivered().getFirst());
        assertThat(mail).contains("Subject: [tandem] fw1: INSTANCE VG1 is MASTER (priority 100)\n");
        assertThat(mail).contains("From: <tandem@localhost>", "To: <nobody@localhost>");
        // the body arrives whole: the dot-stuffed lines are un-stuffed by the server, nothing ended DATA early
        assertThat(mail).contains("fw1 became ACTIVE: fw2 silent on control link for 1.02 s\n.\n..two dots\n.one dot\n");
        assertThat(mail).contains("state:    MASTER\n", "priority: 100\n");
    }

    @Test
    void aRefusedRecipientIsAFailureNamingTheReply() {
        assertThatThrownBy(() -> sink("no-such-user@localhost").deliver(AlertDispatcherTest.alert("BACKUP")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("RCPT TO:<no-such-user@localhost>")
                .hasMessageContaining("550");
    }
}
