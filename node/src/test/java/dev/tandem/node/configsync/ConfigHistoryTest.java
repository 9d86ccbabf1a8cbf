package dev.tandem.node.configsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.core.config.ConfigBundle;
import dev.tandem.core.config.ConfigVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigHistoryTest {
    @TempDir
    Path dir;

    static ConfigBundle bundle(int i) {
        return ConfigBundle.empty().withNftables("table ip t" + i + " {\n}\n")
                .withFile("/etc/x.conf", "n=" + i + "\n", "systemctl reload x");
    }

    @Test
    void keepsTheLastNAndSurvivesARestart() throws Exception {
        ConfigHistory h = ConfigHistory.open(dir, 50, m -> {});
        ConfigVersion v = ConfigVersion.initial();
        for (int i = 1; i <= 60; i++) {
            v = v.next(bundle(i));
            h.record(v, bundle(i));
        }
        h.record(v, bundle(60)); // idempotent
        assertThat(h.versions()).hasSize(50);
        assertThat(h.versions().getFirst().counter()).isEqualTo(11);
        try (var s = Files.list(dir)) {
            assertThat(s.count()).isEqualTo(50);
        }
        ConfigHistory again = ConfigHistory.open(dir, 50, m -> {});
        assertThat(again.problems()).isEmpty();
        assertThat(again.latest().orElseThrow().version()).isEqualTo(v);
        assertThat(again.latest().orElseThrow().bundle()).isEqualTo(bundle(60));
        assertThat(again.get(11).orElseThrow().bundle()).isEqualTo(bundle(11));
        assertThat(again.diff(59, 60).touched()).containsExactly("file:/etc/x.conf", "nftables");
    }

    @Test
    void refusesToGoBack() throws Exception {
        ConfigHistory h = ConfigHistory.open(dir, 5, m -> {});
        h.record(new ConfigVersion(3, bundle(3).hash()), bundle(3));
        assertThatThrownBy(() -> h.record(new ConfigVersion(2, bundle(2).hash()), bundle(2)))
                .hasMessageContaining("go back");
        assertThatThrownBy(() -> h.record(new ConfigVersion(3, bundle(4).hash()), bundle(4)))
                .hasMessageContaining("go back");
        assertThatThrownBy(() -> h.record(new ConfigVersion(4, bundle(3).hash()), bundle(4)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void corruptEntriesAreSkippedWithAMessageNamingTheFile() throws Exception {
        ConfigHistory h = ConfigHistory.open(dir, 50, m -> {});
        ConfigVersion v1 = new ConfigVersion(1, bundle(1).hash());
        ConfigVersion v2 = v1.next(bundle(2));
        ConfigVersion v3 = v2.next(bundle(3));
        h.record(v1, bundle(1));
        h.record(v2, bundle(2));
        h.record(v3, bundle(3));
        Path f2 = h.get(2).orElseThrow().file();
        Path f3 = h.get(3).orElseThrow().file();
        Files.writeString(f2, Files.readString(f2).replace("n=2", "n=7")); // flipped content
        Files.write(f3, new byte[] {1, 2, 3}); // garbage
        Files.writeString(dir.resolve("junk.tcfg"), "hello");
        List<String> warnings = new ArrayList<>();
        ConfigHistory again = ConfigHistory.open(dir, 50, warnings::add);
        assertThat(again.versions()).containsExactly(v1);
        assertThat(warnings).hasSize(3);
        assertThat(String.join("\n", warnings)).contains(f2.getFileName().toString()).contains("damaged")
                .contains(f3.getFileName().toString()).contains("junk.tcfg");
        // the history still moves forward past the damaged ones
        again.record(v3, bundle(3));
        assertThat(ConfigHistory.open(dir, 50, m -> {}).latest().orElseThrow().version()).isEqualTo(v3);
    }
}
