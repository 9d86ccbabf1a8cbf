package dev.tandem.node.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

    /** The complete example of docs/configuration.md must load as documented. */
    @Test
    void documentedExampleLoads() throws Exception {
        String doc = Files.readString(Path.of("../docs/configuration.md"));
        String yaml = doc.substring(doc.indexOf("```yaml") + 7, doc.indexOf("```", doc.indexOf("```yaml") + 7));
        ConfigLoader.Result r = ConfigLoader.parse(yaml, "docs");
        assertThat(r.errors()).isEmpty();
        ClusterConfig c = r.config();
        assertThat(c.cluster().profile()).isEqualTo("aggressive");
        assertThat(c.cluster().advertIntervalMs()).isEqualTo(10);
        assertThat(c.cluster().electionDelayMs()).isEqualTo(40);
        assertThat(c.cluster().preemptionHoldMs()).isEqualTo(1000);
        assertThat(c.cluster().announceCount()).isEqualTo(5);
        assertThat(c.virtualGroups()).hasSize(1);
        assertThat(c.virtualGroups().getFirst().segments()).hasSize(2);
        assertThat(c.node("fw1").priority()).isEqualTo(250);
        assertThat(c.node("fw2").interfaces()).containsEntry("lan", "lan0");
        assertThat(c.cluster().additionalMasterHoldUpMs()).isEqualTo(50);
        assertThat(c.cluster().monitorFailHoldDownMs()).isEqualTo(60000);
        assertThat(c.monitors().linkGroups().getFirst().interfaces()).containsExactly("lan", "wan");
        assertThat(c.monitors().pathGroups().getFirst().compare()).isTrue();
        assertThat(c.monitors().serviceChecks().getFirst().weight()).isEqualTo(60);
        assertThat(c.monitors().selfChecks().nftTable()).isEqualTo("inet tandem_fw");
        assertThat(c.node("fw1").pathSources()).containsEntry("server", "10.10.2.1");
        assertThat(c.cluster().sessions().enabled()).isTrue();
        assertThat(c.cluster().sessions().ignore()).hasSize(1);
        assertThat(c.cluster().sessions().mode()).isEqualTo(ClusterSettings.SessionSyncConfig.Mode.CACHE);
        assertThat(c.operator().webhooks()).hasSize(1);
        assertThat(c.operator().email().to()).containsExactly("noc@example.net");
        assertThat(c.node("fw1").management().port()).isEqualTo(8443);
        assertThat(c.node("fw1").dataOrFallback()).isEqualTo("10.10.4.1");
    }

    @Test
    void sessionSyncModeIsCacheByDefaultDirectWhenAskedAndAnythingElseNamesItsField() {
        String base = GOOD.replace("cluster: {name: t}", "cluster: {name: t, sessions: {enabled: true%s}}");
        ConfigLoader.Result dflt = ConfigLoader.parse(base.formatted(""), "t");
        assertThat(dflt.errors()).isEmpty();
        assertThat(dflt.config().cluster().sessions().mode()).isEqualTo(ClusterSettings.SessionSyncConfig.Mode.CACHE);
        ConfigLoader.Result direct = ConfigLoader.parse(base.formatted(", mode: direct"), "t");
        assertThat(direct.errors()).isEmpty();
        assertThat(direct.config().cluster().sessions().mode()).isEqualTo(ClusterSettings.SessionSyncConfig.Mode.DIRECT);
        assertThat(ClusterSettings.SessionSyncConfig.off().mode()).isEqualTo(ClusterSettings.SessionSyncConfig.Mode.CACHE);
        assertThat(errors(base.formatted(", mode: inject"))).containsExactly(
                "cluster.sessions.mode: 'inject' is not one of [cache, direct]");
        assertThat(errors(base.formatted(", mode: 3"))).containsExactly(
                "cluster.sessions.mode: must be non-empty text, got 3");
        assertThat(dflt.config().cluster().sessions().local()).as("the firewall's own traffic: not unless asked").isFalse();
        assertThat(ConfigLoader.parse(base.formatted(", local: true"), "t").config().cluster().sessions().local()).isTrue();
        assertThat(errors(base.formatted(", local: vips"))).containsExactly(
                "cluster.sessions.local: must be true or false, got text 'vips'");
    }

    @Test
    void monitorErrorsNameTheirField() {
        String yaml = GOOD + """
                monitors:
                  link_groups:
                    - {name: up, interfaces: [dmz]}
                    - {name: up, interfaces: []}
                  path_groups:
                    - {name: isp, destinations: [10.0.0.1/24], interval_ms: 100, timeout_ms: 200}
                  service_checks:
                    - {name: self.x, command: [check], weight: 300}
                    - {name: y, command: [/bin/true], unit: foo.service}
                  self_checks: {nft_table: filter}
                """;
        assertThat(errors(yaml)).contains(
                "monitors.link_groups[1].name: another monitor is already named 'up'",
                "monitors.link_groups[1].interfaces: at least one interface is required",
                "monitors.path_groups[0].destinations[0]: must be an IPv4 or IPv6 address (no prefix), got text '10.0.0.1/24'",
                "monitors.path_groups[0].timeout_ms: 200 is longer than interval_ms 100",
                "monitors.service_checks[0].name: names starting with 'self.' are the built-in self-checks'",
                "monitors.service_checks[0].command[0]: must be an absolute path (no PATH lookup), got 'check'",
                "monitors.service_checks[0].weight: 300 is out of range 1..254",
                "monitors.service_checks[1]: needs exactly one of command (a list: program and arguments) or unit (a systemd unit)",
                "monitors.self_checks.nft_table: must be 'FAMILY NAME' (e.g. 'inet filter'), got 'filter'",
                "nodes.a.interfaces: no kernel interface for 'dmz' (used by a link group)");
    }

    private static final String GOOD = """
            cluster: {name: t}
            virtual_groups:
              - name: vg1
                vrid: 51
                segments:
                  - interface: lan
                    addresses: [10.0.0.254/24]
            nodes:
              a: {role: primary, priority: 200, interfaces: {lan: eth0}}
              b: {role: secondary, priority: 100, interfaces: {lan: eth0}}
            """;

    @Test
    void defaultsComeFromTheDefaultProfile() {
        ConfigLoader.Result r = ConfigLoader.parse(GOOD, "t");
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().cluster().advertIntervalMs()).isEqualTo(300);
        assertThat(r.config().cluster().electionDelayMs()).isEqualTo(-1);
        assertThat(r.config().cluster().preempt()).isFalse();
        assertThat(r.config().cluster().checksum()).isEqualTo("rfc5798");
        assertThat(r.config().cluster().runDir()).isEqualTo("/run/tandem");
    }

    @Test
    void configSync() {
        ConfigLoader.Result r = ConfigLoader.parse(GOOD.replace("cluster: {name: t}", """
                cluster:
                  name: t
                  config_sync:
                    enabled: true
                    ruleset: /etc/tandem/ruleset.nft
                    files:
                      - {path: /etc/dnsmasq.conf, reload: [/usr/bin/systemctl, reload, dnsmasq]}
                      - {path: /etc/hosts}
                """), "t");
        assertThat(r.errors()).isEmpty();
        var cs = r.config().cluster().configSync();
        assertThat(cs.enabled()).isTrue();
        assertThat(cs.ruleset()).isEqualTo("/etc/tandem/ruleset.nft");
        assertThat(cs.files()).hasSize(2);
        assertThat(cs.files().get(0).reloadLine()).isEqualTo("'/usr/bin/systemctl' 'reload' 'dnsmasq'");
        assertThat(cs.files().get(1).reloadLine()).isNull();
        assertThat(ConfigLoader.parse(GOOD, "t").config().cluster().configSync().enabled()).isFalse();
        assertThat(errors(GOOD.replace("cluster: {name: t}", """
                cluster:
                  name: t
                  config_sync:
                    enabled: yes please
                    ruleset: etc/r.nft
                    files:
                      - {path: /a/../b}
                      - {path: /etc/x, reload: [systemctl, reload]}
                      - {path: /etc/x}
                      - {reload: []}
                    extra: 1
                """))).contains(
                                "cluster.config_sync.enabled: must be true or false, got text 'yes please'",
                "cluster.config_sync.ruleset: must be an absolute, normalized path, got 'etc/r.nft'",
                "cluster.config_sync.files[0].path: must be an absolute, normalized path, got '/a/../b'",
                "cluster.config_sync.files[1].reload[0]: the command must be an absolute path, got 'systemctl'",
                "cluster.config_sync.files[2].path: /etc/x is declared twice",
                "cluster.config_sync.files[3].path: missing (required)");
    }

    private static List<String> errors(String yaml) {
        return ConfigLoader.parse(yaml, "t").errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void everyErrorIsReportedWithItsPath() {
        String bad = """
                cluster: {name: t, profile: fast, colour: blue, timers: {advert_interval_ms: 15}}
                virtual_groups:
                  - name: vg1
                    vrid: 300
                    segments:
                      - interface: lan
                        addresses: [10.0.0.300/24, 10.0.1.254/25, "fd00::1", 10.0.1.253/24]
                  - name: vg1
                    vrid: 51
                    segments:
                      - interface: lan
                        addresses: [10.0.1.254/24]
                  - name: vg3
                    vrid: 51
                    segments:
                      - interface: lan
                        addresses: [10.0.9.254/24]
                nodes:
                  a: {role: primary, priority: 200, interfaces: {lan: eth0, wan: eth1}}
                  b: {role: primary, priority: 200, interfaces: {}}
                  B_: {role: boss, priority: "high", interfaces: {lan: "a/b"}}
                """;
        List<String> e = errors(bad);
        assertThat(e).anyMatch(s -> s.startsWith("cluster.profile: 'fast' is not one of"));
        assertThat(e).anyMatch(s -> s.startsWith("cluster.colour: unknown key"));
        assertThat(e).anyMatch(s -> s.startsWith("cluster.timers.advert_interval_ms: 15 is not a multiple of 10"));
        assertThat(e).anyMatch(s -> s.startsWith("virtual_groups[0].vrid: 300 is out of range 1..255"));
        assertThat(e).anyMatch(s -> s.startsWith("virtual_groups[0].segments[0].addresses[0]: '10.0.0.300/24' is not a valid"));
        assertThat(e).anyMatch(s -> s.startsWith("virtual_groups[0].segments[0].addresses[2]: 'fd00::1' is not a valid"));
        assertThat(e).anyMatch(s -> s.startsWith("virtual_groups[0].segments[0].addresses[3]: 10.0.1.253/24: all IPv4 VIPs"));
        assertThat(e).anyMatch(s -> s.startsWith("virtual_groups[1].name: duplicate virtual group name 'vg1'"));
        assertThat(e).anyMatch(s -> s.startsWith("virtual_groups[1].segments[0].addresses[0]: 10.0.1.254 is already used"));
        assertThat(e).anyMatch(s -> s.startsWith("virtual_groups[2].vrid: duplicate VRID 51 on interface 'lan'"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes.a.interfaces.wan: 'wan' is not used by any virtual group"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes.b.priority: priority 200 is also a's"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes.b.interfaces: no kernel interface for 'lan'"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes.B_: node names are"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes.B_.role: 'boss' is not one of"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes.B_.priority: must be a whole number, got text 'high'"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes.B_.interfaces.lan: must be a kernel interface name"));
        assertThat(e).anyMatch(s -> s.startsWith("nodes: exactly one node must have role: primary, found 2"));
    }

    @Test
    void badYamlGetsALineNotAStackTrace() {
        List<String> e = errors("cluster: {name: t\nnodes: [");
        assertThat(e).hasSize(1);
        assertThat(e.getFirst()).startsWith("(file): not valid YAML at line");
        assertThat(errors("- just\n- a list")).containsExactly("(file): must be a mapping, got a list");
        assertThat(errors("")).containsExactly("(file): missing (a mapping is required)");
        assertThat(errors("a: &x [*x]")).isNotEmpty();
        assertThat(errors("cluster: !!java.lang.Runtime {}")).isNotEmpty();
    }

    @Test
    void missingFileIsAnErrorNamingIt() {
        ConfigLoader.Result r = ConfigLoader.load(Path.of("/nonexistent/tandem.yaml"));
        assertThat(r.errors()).singleElement().asString().contains("/nonexistent/tandem.yaml");
    }
}
