package dev.tandem.node.configsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.node.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ClusterFilePartsTest {
    private static final String FILE = """
            # the cluster
            cluster:
              name: c1
              preempt: false
            virtual_groups:
              - name: vg1
                vrid: 51
                segments:
                  - interface: lan
                    addresses: [10.0.0.254/24]
            nodes:
              # node-local values
              fw1: {role: primary, priority: 250, interfaces: {lan: eth0}}
              fw2: {role: secondary, priority: 200, interfaces: {lan: eth1}}
            operator: {state_dir: /var/lib/tandem}
            """;

    @Test
    void theSharedPartIsEverythingButNodes() throws Exception {
        ClusterFileParts.Parts p = ClusterFileParts.split(FILE);
        assertThat(p.shared()).contains("# the cluster", "preempt: false", "vrid: 51", "operator:")
                .doesNotContain("priority", "eth0", "node-local");
        assertThat(p.nodes()).startsWith("nodes:\n  # node-local values\n").contains("priority: 250", "eth1")
                .doesNotContain("operator");
    }

    @Test
    void mergeKeepsTheNodesOwnValuesAndLoads() throws Exception {
        String mine = FILE.replace("eth1", "ens5");
        String primary = FILE.replace("preempt: false", "preempt: true");
        String merged = ClusterFileParts.merge(ClusterFileParts.split(primary).shared(), ClusterFileParts.split(mine).nodes());
        assertThat(merged).contains("preempt: true", "ens5").doesNotContain("eth1");
        var r = ConfigLoader.parse(merged, "merged");
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().cluster().preempt()).isTrue();
        assertThat(r.config().node("fw2").interfaces()).containsEntry("lan", "ens5");
    }

    @Test
    void nodeLocalChangesDoNotChangeTheSharedPart() throws Exception {
        String other = FILE.replace("priority: 200", "priority: 100").replace("# node-local values", "# edited");
        assertThat(ClusterFileParts.split(other).shared()).isEqualTo(ClusterFileParts.split(FILE).shared());
    }

    @Test
    void changedSectionsNameWhatMoved() throws Exception {
        String a = ClusterFileParts.split(FILE).shared();
        String b = ClusterFileParts.split(FILE.replace("preempt: false", "preempt: true").replace("vrid: 51", "vrid: 52")
                .replace("# the cluster", "# a comment only")).shared();
        assertThat(ClusterFileParts.changedSections(a, b)).containsExactly("cluster.preempt", "virtual_groups");
        assertThat(ClusterFileParts.changedSections(a, a.replace("# the cluster", "# other"))).isEmpty();
        assertThat(ClusterFileParts.changedSections("", a)).contains("cluster", "virtual_groups", "operator");
    }

    @Test
    void filesTheSplitCannotRepresentAreRefusedWithAReason() {
        assertThatThrownBy(() -> ClusterFileParts.split("cluster: {name: x}\n"))
                .hasMessageContaining("no top-level 'nodes:'");
        assertThatThrownBy(() -> ClusterFileParts.split("---\ncluster: {name: x}\nnodes: {}\n"))
                .hasMessageContaining("document markers");
        assertThatThrownBy(() -> ClusterFileParts.split("{cluster: {name: x}, nodes: {}}\n"))
                .hasMessageContaining("block style");
        assertThatThrownBy(() -> ClusterFileParts.split("cluster: &c {name: x}\nnodes:\n  fw1: *c\n"))
                .hasMessageContaining("not valid YAML on its own");
        assertThatThrownBy(() -> ClusterFileParts.split("nodes: {}\ncluster: [\n"))
                .isInstanceOf(ClusterFileParts.Unsplittable.class);
    }

    @Test
    void theExampleConfigurationSplits() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "configuration.md"));
        int start = doc.indexOf("```yaml\n") + 8;
        String example = doc.substring(start, doc.indexOf("```", start));
        ClusterFileParts.Parts p = ClusterFileParts.split(example);
        assertThat(p.nodes()).startsWith("nodes:");
        assertThat(ConfigLoader.parse(ClusterFileParts.merge(p.shared(), p.nodes()), "x").errors()).isEmpty();
    }
}
