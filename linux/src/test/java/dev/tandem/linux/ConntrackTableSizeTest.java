package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConntrackTableSizeTest {
    @Test
    void bucketsAreFourPerSessionRoundedUpToAPowerOfTwo() {
        assertThat(ConntrackTableSize.bucketsFor(1_000_000)).isEqualTo(4_194_304);
        assertThat(ConntrackTableSize.bucketsFor(1 << 20)).isEqualTo(1 << 22);
        assertThat(ConntrackTableSize.bucketsFor(100_000)).isEqualTo(524_288);
        assertThat(ConntrackTableSize.bucketsFor(0)).isEqualTo(4);
        assertThat(ConntrackTableSize.maxFor(1_000_000)).isEqualTo(1_004_096);
    }

    @Test
    void aShortTableIsNamedWithWhatToSet() {
        // the kernel's defaults on a large host, against the default max_entries
        String s = new ConntrackTableSize(262_144, 262_144).shortfall(1_000_000);
        assertThat(s).contains("nf_conntrack_max is 262,144", "1,004,096 or more", "nf_conntrack_buckets is 262,144",
                "chains of 8", "4,194,304");
        // max large enough, buckets short
        assertThat(new ConntrackTableSize(2_000_000, 262_144).shortfall(1_000_000)).doesNotContain("nf_conntrack_max")
                .contains("nf_conntrack_buckets");
        // both large enough; unreadable values are not reported
        assertThat(new ConntrackTableSize(1_004_096, 1_048_576).shortfall(1_000_000)).isNull();
        assertThat(new ConntrackTableSize(-1, -1).shortfall(1_000_000)).isNull();
        assertThat(new ConntrackTableSize(262_144, 262_144).shortfall(100_000)).isNull();
    }

    @Test
    void readsThisHostsValuesAndToleratesJunk(@TempDir Path dir) throws Exception {
        ConntrackTableSize here = ConntrackTableSize.read();
        assertThat(here.max()).as("nf_conntrack_max").isPositive();
        assertThat(here.buckets()).as("nf_conntrack_buckets").isPositive();
        Path junk = Files.writeString(dir.resolve("junk"), "many\n");
        assertThat(ConntrackTableSize.readLong(junk)).isEqualTo(-1);
        assertThat(ConntrackTableSize.readLong(dir.resolve("absent"))).isEqualTo(-1);
        assertThat(ConntrackTableSize.readLong(Files.writeString(dir.resolve("n"), "262144\n"))).isEqualTo(262_144);
    }
}
