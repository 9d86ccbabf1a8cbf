package dev.tandem.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.node.cli.TandemCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class TokenStoreTest {
    @TempDir
    Path dir;

    @Test
    void createAuthenticateListRevoke() throws Exception {
        Path f = dir.resolve("etc/api-tokens");
        TokenStore s = TokenStore.open(f);
        assertThat(s.list()).isEmpty();
        String a = s.create("alice", Role.ADMIN);
        String v = s.create("victor", Role.VIEWER);
        assertThat(a).startsWith("tdm_").hasSize(4 + 43).isNotEqualTo(v);
        assertThat(s.authenticate(a)).contains(new TokenStore.Principal("alice", Role.ADMIN));
        assertThat(s.authenticate(v)).contains(new TokenStore.Principal("victor", Role.VIEWER));
        assertThat(s.authenticate(a.substring(0, a.length() - 1))).isEmpty();
        assertThat(s.authenticate("")).isEmpty();
        assertThat(s.authenticate(null)).isEmpty();
        assertThat(s.authenticate("x".repeat(10_000))).isEmpty();

        String text = Files.readString(f);
        assertThat(text).doesNotContain(a.substring(4)).doesNotContain(v.substring(4)).contains("alice admin ");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
        assertThat(s.list()).extracting(TokenStore.Entry::name, TokenStore.Entry::role)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("alice", Role.ADMIN),
                        org.assertj.core.groups.Tuple.tuple("victor", Role.VIEWER));

        assertThatThrownBy(() -> s.create("alice", Role.VIEWER)).hasMessageContaining("exists already");
        assertThatThrownBy(() -> s.create("bad name", Role.VIEWER)).hasMessageContaining("token name");
        assertThatThrownBy(() -> s.create("", Role.VIEWER)).hasMessageContaining("token name");

        // another process (the CLI) revokes: this instance notices without a restart
        assertThat(TokenStore.open(f).revoke("alice")).isTrue();
        assertThat(s.authenticate(a)).isEmpty();
        assertThat(s.authenticate(v)).isPresent();
        assertThat(s.revoke("alice")).isFalse();
    }

    @Test
    void badLinesAreIgnoredAndAMissingFileHoldsNoTokens() throws Exception {
        Path f = dir.resolve("tokens");
        TokenStore s = TokenStore.open(f);
        String v = s.create("victor", Role.VIEWER);
        Files.writeString(f, Files.readString(f) + "garbage line\nmallory root 1 AAAA BBBB\n");
        assertThat(s.authenticate(v)).isPresent();
        assertThat(s.list()).hasSize(1);
        Files.delete(f);
        assertThat(s.authenticate(v)).isEmpty();
    }

    @Test
    void theCliCreatesListsAndRevokes() throws Exception {
        Path f = dir.resolve("api-tokens");
        String token = run("token", "create", "ops-admin", "--role", "admin", "--file", f.toString()).strip();
        assertThat(token).startsWith("tdm_");
        assertThat(TokenStore.open(f).authenticate(token)).contains(new TokenStore.Principal("ops-admin", Role.ADMIN));
        assertThat(run("token", "list", "--file", f.toString())).contains("ops-admin").contains("admin").doesNotContain(token);
        assertThat(run("token", "list", "--json", "--file", f.toString())).contains("\"name\":\"ops-admin\"");
        assertThat(run("token", "revoke", "ops-admin", "--file", f.toString())).contains("revoked");
        assertThat(TokenStore.open(f).authenticate(token)).isEmpty();
        assertThat(new CommandLine(new TandemCli()).execute("token", "create", "x", "--role", "root", "--file", f.toString()))
                .isEqualTo(2);
    }

    private static String run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(new CommandLine(new TandemCli()).execute(args)).isZero();
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
