package dev.tandem.node.configsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.core.config.ConfigBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManagedFilesTest {
    @TempDir
    Path dir;

    ManagedFiles files = new ManagedFiles(Duration.ofMillis(500));

    @Test
    void writesChangedFilesAtomicallyAndReloadsOnce() throws Exception {
        Path a = dir.resolve("a.conf");
        Path b = dir.resolve("b.conf");
        Path log = dir.resolve("reloads.log");
        Files.writeString(a, "old a\n");
        Files.setPosixFilePermissions(a, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(b, "same b\n");
        String reload = "echo reloaded >> " + log;
        ConfigBundle next = ConfigBundle.empty().withFile(a.toString(), "new a\n", reload)
                .withFile(b.toString(), "same b\n", "echo b >> " + log)
                .withFile(dir.resolve("c.conf").toString(), "c\n", reload);
        ManagedFiles.Applied applied = files.apply(next);
        assertThat(Files.readString(a)).isEqualTo("new a\n");
        assertThat(Files.getPosixFilePermissions(a)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(dir.resolve("c.conf"))).isEqualTo("c\n");
        assertThat(applied.written()).containsExactly(a, dir.resolve("c.conf"));
        assertThat(Files.readAllLines(log)).containsExactly("reloaded"); // b unchanged; one command runs once
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("tandem-tmp"));
        }
        // applying the same again touches nothing
        assertThat(files.apply(next).written()).isEmpty();
        // undo puts the previous bytes back (e.g. nftables failed after the files)
        assertThat(applied.undo()).isEmpty();
        assertThat(Files.readString(a)).isEqualTo("old a\n");
        assertThat(dir.resolve("c.conf")).doesNotExist();
    }

    @Test
    void aFailingReloadRestoresEveryFileAndNamesFileAndCommand() throws Exception {
        Path a = dir.resolve("a.conf");
        Path z = dir.resolve("z.conf");
        Path log = dir.resolve("reloads.log");
        Files.writeString(a, "old a\n");
        ConfigBundle next = ConfigBundle.empty().withFile(a.toString(), "new a\n", "echo a >> " + log)
                .withFile(z.toString(), "z\n", "echo 'z: bad option on line 3' >&2; exit 3");
        assertThatThrownBy(() -> files.apply(next)).isInstanceOf(ManagedFiles.Failed.class)
                .hasMessageContaining("file:" + z).hasMessageContaining("exit 3").hasMessageContaining("exited 3")
                .hasMessageContaining("bad option on line 3").hasMessageContaining("previous files restored")
                .satisfies(e -> assertThat(((ManagedFiles.Failed) e).item()).isEqualTo("file:" + z));
        assertThat(Files.readString(a)).isEqualTo("old a\n");
        assertThat(z).doesNotExist();
        // a's service was reloaded with the new file, then again with the restored one
        assertThat(Files.readAllLines(log)).containsExactly("a", "a");
    }

    @Test
    void aHangingReloadTimesOut() throws Exception {
        Path a = dir.resolve("a.conf");
        Files.writeString(a, "old\n");
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> files.apply(ConfigBundle.empty().withFile(a.toString(), "new\n", "sleep 30")))
                .hasMessageContaining("timed out after 500 ms");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
        assertThat(Files.readString(a)).isEqualTo("old\n");
    }

    @Test
    void aWriteIntoAMissingDirectoryFailsAndRestoresTheOthers() throws Exception {
        Path a = dir.resolve("a.conf");
        Files.writeString(a, "old\n");
        Path missing = dir.resolve("nodir/x.conf");
        assertThatThrownBy(() -> files.apply(ConfigBundle.empty().withFile(a.toString(), "new\n", "")
                .withFile(missing.toString(), "x\n", ""))).hasMessageContaining("file:" + missing)
                .hasMessageContaining("does not exist");
        assertThat(Files.readString(a)).isEqualTo("old\n");
    }
}
