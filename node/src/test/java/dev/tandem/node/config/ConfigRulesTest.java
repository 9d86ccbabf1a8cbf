package dev.tandem.node.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One failing case per rule of docs/configuration.md, each asserting the exact path and a reason. */
class ConfigRulesTest {

    /** A valid file; each test breaks one thing in it. */
    private static final String BASE = """
            cluster:
              name: t
            virtual_groups:
              - name: vg1
                vrid: 51
                segments:
                  - interface: lan
                    addresses: [10.0.0.254/24, fd00::254/64]
            nodes:
              a: {role: primary, priority: 200, interfaces: {lan: eth0}}
              b: {role: secondary, priority: 100, interfaces: {lan: eth0}}
            """;

    private static List<String> errors(String yaml) {
        ConfigLoader.Result r = ConfigLoader.parse(yaml, "t");
        assertThat(r.config() == null).as("config xor errors").isEqualTo(!r.errors().isEmpty());
        return r.errors().stream().map(ConfigError::toString).toList();
    }

    private static List<String> errorsWith(String from, String to) {
        assertThat(BASE).contains(from);
        return errors(BASE.replace(from, to));
    }

    private static ClusterConfig ok(String yaml) {
        ConfigLoader.Result r = ConfigLoader.parse(yaml, "t");
        assertThat(r.errors()).isEmpty();
        return r.config();
    }

    @Test
    void baseIsValid() {
        assertThat(ok(BASE).virtualGroups().getFirst().segments().getFirst().addresses())
                .containsExactly("10.0.0.254/24", "fd00::254/64");
    }

    @Test
    void aggressiveProfileDefaultsAndOverrides() {
        ClusterSettings s = ok(BASE.replace("name: t", "name: t\n  profile: aggressive")).cluster();
        assertThat(s.advertIntervalMs()).isEqualTo(10);
        assertThat(s.electionDelayMs()).isEqualTo(-1);
        assertThat(s.announceSpacingMs()).isEqualTo(10);
        assertThat(s.heartbeatIntervalMs()).isEqualTo(2);
        ClusterSettings d = ok(BASE).cluster();
        assertThat(d.profile()).isEqualTo("default");
        assertThat(d.announceCount()).isEqualTo(5);
        assertThat(d.announceSpacingMs()).isEqualTo(20);
        assertThat(d.announceRefreshMs()).isZero();
        assertThat(d.preemptionHoldMs()).isEqualTo(1000);
        assertThat(d.accept()).isTrue();
        assertThat(d.securityMode()).isEqualTo("tls");
        assertThat(d.pkiDir()).isEqualTo("/etc/tandem/pki");
        assertThat(d.channelPort()).isEqualTo(7400);
        assertThat(d.heartbeatIntervalMs()).isEqualTo(100);
        assertThat(d.heartbeatMisses()).isEqualTo(3);
        assertThat(d.helloIntervalMs()).isEqualTo(1000);
        assertThat(d.advertSilenceMs()).isEqualTo(-1);
        ClusterSettings o = ok(BASE.replace("name: t", """
                name: t
                  profile: aggressive
                  timers: {advert_interval_ms: 50, election_delay_ms: 0}""")).cluster();
        assertThat(o.advertIntervalMs()).isEqualTo(50);
        assertThat(o.electionDelayMs()).isZero();
    }

    @Test
    void nameIsRequired() {
        assertThat(errorsWith("  name: t\n", "  preempt: true\n")).containsExactly("cluster.name: missing (required)");
    }

    @Test
    void unknownKeysEverywhere() {
        assertThat(errorsWith("vrid: 51", "vrid: 51\n    vird: 52")).singleElement().asString()
                .startsWith("virtual_groups[0].vird: unknown key");
        assertThat(errorsWith("priority: 200,", "priority: 200, prio: 1,")).singleElement().asString()
                .startsWith("nodes.a.prio: unknown key");
        assertThat(errorsWith("nodes:", "extra: 1\nnodes:")).singleElement().asString().startsWith("extra: unknown key");
    }

    @Test
    void addressSyntax() {
        assertThat(errorsWith("10.0.0.254/24,", "10.0.0.254,")).containsExactly(
                "virtual_groups[0].segments[0].addresses[0]: '10.0.0.254' is not a valid IPv4/IPv6 address with /prefix"
                        + " (e.g. 10.10.1.254/24)");
        for (String bad : List.of("10.0.0.254/33", "10.0.0.254/", "010.0.0.1/24", "1.2.3/24", "fd00::254/129",
                "fd00:::1/64", "host.example/24", "10.0.0.254/+4", "10.0.0.254/24/1", "' 10.0.0.1/24'")) {
            assertThat(errorsWith("10.0.0.254/24,", bad + ",")).as(bad).singleElement().asString()
                    .startsWith("virtual_groups[0].segments[0].addresses[0]: ")
                    .contains("is not a valid IPv4/IPv6 address");
        }
        assertThat(errorsWith("10.0.0.254/24,", "[1, 2],")).singleElement().asString()
                .startsWith("virtual_groups[0].segments[0].addresses[0]: ");
    }

    @Test
    void prefixLengthIsConsistentPerFamilyInASegment() {
        assertThat(errorsWith("fd00::254/64]", "fd00::254/64, fd00::253/48, 10.0.0.253/24]")).containsExactly(
                "virtual_groups[0].segments[0].addresses[2]: fd00::253/48: all IPv6 VIPs of a segment share one prefix"
                        + " length (64)");
    }

    @Test
    void duplicateVipAnywhere() {
        assertThat(errorsWith("fd00::254/64]", "fd00:0:0::254/64]\n      - interface: wan\n"
                + "        addresses: [fd00::254/64]").stream().filter(s -> s.contains("already used")))
                .singleElement().asString()
                .isEqualTo("virtual_groups[0].segments[1].addresses[0]: fd00::254 is already used at"
                        + " virtual_groups[0].segments[0].addresses[1]");
    }

    private static final String TWO_VGS = BASE.replace("nodes:", """
              - name: vg2
                vrid: 51
                segments:
                  - interface: lan
                    addresses: [10.0.0.253/24]
            nodes:""");

    @Test
    void duplicateVridPerInterfaceAndFamily() {
        assertThat(errors(TWO_VGS)).containsExactly(
                "virtual_groups[1].vrid: duplicate VRID 51 on interface 'lan' (IPv4), also used by virtual_groups[0]");
        // another family or another interface: fine
        ok(TWO_VGS.replace("[10.0.0.253/24]", "[fd00::253/64]").replace("fd00::254/64", "10.0.0.1/24"));
    }

    @Test
    void duplicateVgName() {
        assertThat(errors(TWO_VGS.replace("vg2", "vg1").replace("vrid: 51\n    segments:\n      - interface: lan\n"
                + "        addresses: [10.0.0.253", "vrid: 52\n    segments:\n      - interface: lan\n"
                + "        addresses: [10.0.0.253"))).containsExactly(
                "virtual_groups[1].name: duplicate virtual group name 'vg1'");
    }

    @Test
    void invalidValuesDoNotCauseFollowOnDuplicates() {
        // two bad VRIDs must not also be reported as a duplicate of each other (or of a real one)
        assertThat(errors(TWO_VGS.replace("vrid: 51", "vrid: x"))).containsExactly(
                "virtual_groups[0].vrid: must be a whole number, got text 'x'",
                "virtual_groups[1].vrid: must be a whole number, got text 'x'");
        assertThat(errors(BASE.replace("priority: 200", "priority: 0").replace("priority: 100", "priority: 0")))
                .containsExactly("nodes.a.priority: 0 is out of range 1..255", "nodes.b.priority: 0 is out of range 1..255");
    }

    @Test
    void vridRange() {
        assertThat(errorsWith("vrid: 51", "vrid: 0")).containsExactly("virtual_groups[0].vrid: 0 is out of range 1..255");
        assertThat(errorsWith("vrid: 51", "vrid: 256")).containsExactly("virtual_groups[0].vrid: 256 is out of range 1..255");
        assertThat(errorsWith("vrid: 51", "vrid: 99999999999999999999999")).singleElement().asString()
                .startsWith("virtual_groups[0].vrid: ").contains("out of range 1..255");
        assertThat(errorsWith("vrid: 51", "vrid: 51.5")).singleElement().asString()
                .startsWith("virtual_groups[0].vrid: must be a whole number, got 51.5");
    }

    @Test
    void atLeastOneOfEach() {
        assertThat(errors("cluster: {name: t}\nvirtual_groups: []\nnodes: {a: {role: primary, priority: 1, interfaces: {}}}"))
                .containsExactly("virtual_groups: at least one virtual group is required");
        assertThat(errors(BASE.replace("""
                    segments:
                      - interface: lan
                        addresses: [10.0.0.254/24, fd00::254/64]
                nodes:""", "    segments: []\nnodes:")))
                .contains("virtual_groups[0].segments: at least one segment is required");
        assertThat(errorsWith("[10.0.0.254/24, fd00::254/64]", "[]"))
                .containsExactly("virtual_groups[0].segments[0].addresses: at least one address is required");
        assertThat(errors(BASE.replaceAll("(?s)nodes:.*", "nodes: {}\n")))
                .containsExactly("nodes: at least one node is required");
    }

    @Test
    void everySegmentInterfaceIsMappedOnEveryNode() {
        assertThat(errorsWith("b: {role: secondary, priority: 100, interfaces: {lan: eth0}}",
                "b: {role: secondary, priority: 100, interfaces: {}}"))
                .containsExactly("nodes.b.interfaces: no kernel interface for 'lan' (used by a virtual group)");
    }

    @Test
    void kernelInterfaceNames() {
        for (String bad : List.of("eth0/1", "'eth 0'", "abcdefghijklmnop", "''", "'.'", "'..'", "5")) {
            assertThat(errorsWith("{lan: eth0}}\n  b", "{lan: " + bad + "}}\n  b")).as(bad).singleElement().asString()
                    .startsWith("nodes.a.interfaces.lan: must be a kernel interface name");
        }
        ok(BASE.replace("{lan: eth0}}\n  b", "{lan: abcdefghijklmno}}\n  b"));
        ok(BASE.replace("{lan: eth0}}\n  b", "{lan: bond0.100}}\n  b"));
    }

    @Test
    void exactlyOnePrimary() {
        assertThat(errorsWith("role: primary", "role: secondary"))
                .containsExactly("nodes: exactly one node must have role: primary, found 0");
        assertThat(errorsWith("role: secondary", "role: primary"))
                .containsExactly("nodes: exactly one node must have role: primary, found 2");
    }

    @Test
    void prioritiesDiffer() {
        assertThat(errorsWith("priority: 100", "priority: 200"))
                .containsExactly("nodes.b.priority: priority 200 is also a's: node priorities must differ");
    }

    @Test
    void nodeNames() {
        for (String bad : List.of("A", "-a", "a_b", "'a b'", "abcdefghijabcdefghijabcdefghijab")) {
            assertThat(errorsWith("\n  b:", "\n  " + bad + ":")).as(bad).singleElement().asString()
                    .endsWith(": node names are 1-31 of a-z, 0-9 and '-', starting with a letter or digit");
        }
        ok(BASE.replace("\n  b:", "\n  fw-2:"));
        ok(BASE.replace("\n  b:", "\n  abcdefghijabcdefghijabcdefghija:"));
    }

    @Test
    void timerRanges() {
        assertThat(errorsWith("name: t", "name: t\n  timers: {advert_interval_ms: 40960}"))
                .containsExactly("cluster.timers.advert_interval_ms: 40960 is out of range 10..40950");
        assertThat(errorsWith("name: t", "name: t\n  timers: {advert_interval_ms: 25}"))
                .containsExactly("cluster.timers.advert_interval_ms: 25 is not a multiple of 10 (VRRPv3 counts centiseconds)");
        assertThat(errorsWith("name: t", "name: t\n  timers: {preemption_hold_ms: -1}"))
                .containsExactly("cluster.timers.preemption_hold_ms: -1 is out of range 0..3600000");
        assertThat(errorsWith("name: t", "name: t\n  announce: {count: 0, spacing_ms: 10001, refresh_ms: 500}"))
                .containsExactly("cluster.announce.count: 0 is out of range 1..100",
                        "cluster.announce.spacing_ms: 10001 is out of range 1..10000",
                        "cluster.announce.refresh_ms: 500 is too often: 0 (off) or at least 1000");
        assertThat(errorsWith("name: t", "name: t\n  channel_port: 70000"))
                .containsExactly("cluster.channel_port: 70000 is out of range 1..65535");
        assertThat(errorsWith("name: t", "name: t\n  realtime_priority: 100"))
                .containsExactly("cluster.realtime_priority: 100 is out of range 0..99");
        assertThat(ok(BASE).cluster().realtimePriority()).isEqualTo(10);
        assertThat(ok(BASE.replace("name: t", "name: t\n  realtime_priority: 0")).cluster().realtimePriority()).isZero();
    }

    @Test
    void choicesPathsAndBooleans() {
        assertThat(errorsWith("name: t", "name: t\n  checksum: v3")).singleElement().asString()
                .startsWith("cluster.checksum: 'v3' is not one of");
        assertThat(errorsWith("name: t", "name: t\n  security: {mode: psk}")).singleElement().asString()
                .startsWith("cluster.security.mode: 'psk' is not one of");
        assertThat(errorsWith("name: t", "name: t\n  run_dir: run/tandem"))
                .containsExactly("cluster.run_dir: must be an absolute path, got 'run/tandem'");
        assertThat(errorsWith("name: t", "name: t\n  preempt: 'true'"))
                .containsExactly("cluster.preempt: must be true or false, got text 'true'");
    }

    @Test
    void wrongTypes() {
        assertThat(errorsWith("cluster:\n  name: t", "cluster: [t]"))
                .containsExactly("cluster: must be a mapping, got a list");
        assertThat(errorsWith("priority: 200", "priority: '200'"))
                .containsExactly("nodes.a.priority: must be a whole number, got text '200'");
        assertThat(errorsWith("name: t", "name: t\n  timers: 5"))
                .containsExactly("cluster.timers: must be a mapping, got 5");
        assertThat(errorsWith("name: vg1", "name: [vg1]"))
                .containsExactly("virtual_groups[0].name: must be non-empty text, got a list");
        assertThat(errorsWith("- interface: lan\n        addresses: [10.0.0.254/24, fd00::254/64]", "- 10.0.0.1/24"))
                .containsExactly("virtual_groups[0].segments[0]: must be a mapping, got text '10.0.0.1/24'");
        assertThat(errorsWith("{lan: eth0}}\n  b", "[eth0]}\n  b")).contains("nodes.a.interfaces: must be a mapping, got a list");
        assertThat(errorsWith("virtual_groups:", "virtual_groups: 5\nx_virtual_groups:")).contains(
                "virtual_groups: must be a list, got 5").noneMatch(e -> e.contains("not used by any virtual group"));
    }

    @Test
    void controlAndBackupLinks() {
        String both = BASE.replace("{lan: eth0}}\n  b", "{lan: eth0}, control: 10.9.0.1, backup: 10.8.0.1}\n  b")
                .replace("{lan: eth0}}\n", "{lan: eth0}, control: 10.9.0.2}\n");
        assertThat(errors(both)).containsExactly(
                "nodes: either every node has a backup address or none does (1 of 2 have one)");
        assertThat(errors(both.replace("control: 10.9.0.2", "control: 10.9.0.2/24"))).contains(
                "nodes.b.control: must be this node's IPv4 or IPv6 address on the control link (no prefix), got text"
                        + " '10.9.0.2/24'");
        assertThat(errors(BASE.replace("{lan: eth0}}\n  b", "{lan: eth0}, backup: 10.8.0.1}\n  b"))).contains(
                "nodes.a.backup: a backup link needs a control link (nodes.a.control)");
    }

    @Test
    void manyErrorsAtOnceInDocumentOrder() {
        List<String> e = errors(BASE.replace("vrid: 51", "vrid: 0").replace("10.0.0.254/24", "10.0.0.300/24")
                .replace("priority: 100", "priority: 200"));
        assertThat(e).containsExactly(
                "virtual_groups[0].vrid: 0 is out of range 1..255",
                "virtual_groups[0].segments[0].addresses[0]: '10.0.0.300/24' is not a valid IPv4/IPv6 address with"
                        + " /prefix (e.g. 10.10.1.254/24)",
                "nodes.b.priority: priority 200 is also a's: node priorities must differ");
    }

    @Test
    void yamlSafety() {
        assertThat(errors("cluster: {name: t}\ncluster: {name: u}")).singleElement().asString()
                .startsWith("(file): not valid YAML at line 2");
        assertThat(errors("cluster: !!javax.script.ScriptEngineManager [x]")).singleElement().asString()
                .startsWith("(file): not valid YAML");
        assertThat(errors("cluster: !custom {name: t}")).singleElement().asString().startsWith("(file): not valid YAML");
        String laughs = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n".repeat(1)
                + "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
        assertThat(errors(laughs)).singleElement().asString().startsWith("(file): not valid YAML");
        assertThat(errors("x: " + "[".repeat(5000))).singleElement().asString().startsWith("(file): not valid YAML");
        assertThat(errors("a: '" + "x".repeat(1 << 20) + "'")).singleElement().asString().startsWith("(file): ");
        assertThat(errors("--- {a: 1}\n--- {b: 2}")).singleElement().asString().startsWith("(file): not valid YAML");
    }

    @Test
    void loadReadsAFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("tandem.yaml");
        Files.writeString(f, BASE);
        assertThat(ConfigLoader.load(f).errors()).isEmpty();
        Files.writeString(f, "x".repeat((1 << 20) + 1));
        assertThat(ConfigLoader.load(f).errors()).singleElement().asString().contains(f.toString());
    }
}
