package dev.tandem.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.node.api.ApiServer;
import dev.tandem.node.api.Json;
import dev.tandem.node.api.Role;
import dev.tandem.node.api.TokenStore;
import dev.tandem.node.channel.Pki;
import dev.tandem.node.events.Event;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The CLI against a real ApiServer on 127.0.0.1 with a fake node: tables, --json, errors, paging, options. */
@Timeout(30)
@SuppressWarnings("unchecked")
class CliApiTest {
    private static final long T0 = 1_790_000_000_000L;

    @TempDir
    Path dir;

    FakeNode fw1;
    TokenStore tokens;
    ApiServer server;
    String admin;
    String viewer;
    int deadPort;
    Path cluster;

    record Run(int code, String out, String err) {}

    @BeforeEach
    void start() throws Exception {
        fw1 = new FakeNode(dir, "fw1");
        tokens = TokenStore.open(dir.resolve("tokens"));
        admin = tokens.create("alice", Role.ADMIN);
        viewer = tokens.create("victor", Role.VIEWER);
        server = ApiServer.start(fw1, tokens, ApiServer.Settings.plain(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort(); // closed again: nothing listens there
        }
        cluster = dir.resolve("tandem.yaml");
        Files.writeString(cluster, """
                cluster:
                  name: t
                  run_dir: %s
                virtual_groups:
                  - name: vg1
                    vrid: 51
                    segments:
                      - interface: lan
                        addresses: [10.0.0.254/24]
                nodes:
                  fw1: {role: primary, priority: 150, interfaces: {lan: eth0}, management: {address: 127.0.0.1, port: %d}}
                  fw2: {role: secondary, priority: 100, interfaces: {lan: eth0}, management: {address: 127.0.0.1, port: %d}}
                """.formatted(dir, server.address().getPort(), deadPort));
        ApiOptions.env = k -> null;
    }

    @AfterEach
    void stop() {
        ApiOptions.env = System::getenv;
        server.close();
        fw1.close();
    }

    private Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = TandemCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private String url() {
        return "http://127.0.0.1:" + server.address().getPort();
    }

    // ---------------------------------------------------------------------------------------------- status

    @Test
    void statusTableOfOneNode() {
        Run r = run("status", "-c", cluster.toString(), "--node", "fw1", "--token", viewer);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("fw1  ACTIVE  role primary  priority 150 effective / 150 configured  version 0.1.0")
                .contains("VG1 lan0").contains("MASTER")
                .containsPattern("link group uplinks +-50 +up +wan0 up")
                .containsPattern("service dns +fault +DOWN +timeout \\[31m after 2 s") // ESC from the node is not printed
                .contains("links:\n    control link to fw2 (10.9.0.2:7400): connected")
                .contains("    backup link to fw2 (10.8.0.2:7400): down")
                .contains("peers:\n    last hello from fw2")
                .contains("last transitions:\n    fw1 INIT -> PASSIVE\n    fw1 PASSIVE -> ACTIVE: peer silent");
        assertThat(r.out()).doesNotContain("\u001b");
        assertThat(r.out()).as("the active applies no silence window").doesNotContain("advert silence window");
        fw1.state = "PASSIVE";
        Run passive = run("status", "-c", cluster.toString(), "--node", "fw1", "--token", viewer);
        assertThat(passive.out()).contains("  advert silence window 13.2 ms (with the dedicated links silent too)");
        fw1.state = "ACTIVE";
    }

    @Test
    void statusOfEveryNodeNamesTheOneWithoutAnApi() {
        Run r = run("status", "-c", cluster.toString(), "--token", viewer);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("fw1  ACTIVE")
                .contains("fw2  UNREACHABLE: no API at http://127.0.0.1:" + deadPort + " (connection refused)");
    }

    @Test
    void statusJsonIsAnArrayOfTheNodesAnswers() {
        Run one = run("status", "-c", cluster.toString(), "--node", "fw1", "--token", viewer, "--json");
        assertThat(one.code()).isZero();
        assertThat(one.out().strip()).isEqualTo("[" + fw1.statusJson() + "]");
        Run all = run("status", "-c", cluster.toString(), "--token", viewer, "--json");
        List<Object> a = (List<Object>) Json.parse(all.out());
        assertThat(a).hasSize(2);
        assertThat((Map<String, Object>) a.get(0)).containsEntry("state", "ACTIVE");
        assertThat((Map<String, Object>) a.get(1)).containsEntry("node", "fw2").containsEntry("state", "UNREACHABLE")
                .hasEntrySatisfying("error", e -> assertThat((String) e).contains("no API at"));
        assertThat(all.code()).isEqualTo(1);
    }

    @Test
    void statusWithApiNeedsNoClusterFile() {
        Run r = run("status", "-c", dir.resolve("absent.yaml").toString(), "--api", url(), "--token", viewer);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("fw1  ACTIVE");
    }

    @Test
    void tokenFromTheEnvironmentOrAFile() throws Exception {
        ApiOptions.env = k -> k.equals("TANDEM_TOKEN") ? viewer : null;
        assertThat(run("status", "--api", url()).code()).isZero();
        ApiOptions.env = k -> null;
        Path f = dir.resolve("token");
        Files.writeString(f, "\n" + viewer + "\n");
        assertThat(run("status", "--api", url(), "--token-file", f.toString()).code()).isZero();
        Run missing = run("status", "--api", url(), "--token-file", dir.resolve("nope").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("--token-file: cannot read");
        Run none = run("status", "--api", url());
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("--api needs a token");
    }

    @Test
    void withoutATokenStatusFallsBackToTheControlSocket() {
        Run r = run("status", "-c", cluster.toString(), "--node", "fw1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("fw1  not running here (no control socket at " + dir.resolve("fw1.sock"));
    }

    @Test
    void aRefusedTokenIsExplained() {
        Run r = run("status", "--api", url(), "--token", "tdm_wrong");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("UNREACHABLE: token refused by " + url() + " (invalid token)");
    }

    // ---------------------------------------------------------------------------------------------- actions

    @Test
    void demoteWithAReasonIsRecordedUnderTheTokensName() {
        Run r = run("demote", "-c", cluster.toString(), "--node", "fw1", "--token", admin, "--reason", "kernel update");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("fw1: demote done");
        assertThat(fw1.calls).containsExactly(new FakeNode.Call("demote", "alice", "kernel update"));
        assertThat(run("suspend", "--api", url(), "--token", admin).code()).isZero();
        assertThat(run("resume", "--api", url(), "--token", admin).code()).isZero();
        assertThat(fw1.calls).extracting(FakeNode.Call::action).containsExactly("demote", "suspend", "resume");
        assertThat(fw1.calls.get(1).reason()).isNull();
    }

    @Test
    void aViewerTokenLacksTheAdminRole() {
        Run r = run("suspend", "--api", url(), "--token", viewer, "--node", "fw1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("error: token lacks the admin role (token 'victor' has role viewer");
        assertThat(fw1.calls).isEmpty();
    }

    @Test
    void aRefusalShowsTheNodesText() {
        fw1.refusals.put("resume", "fw1 is ACTIVE, not SUSPENDED: nothing to resume");
        Run r = run("resume", "-c", cluster.toString(), "--node", "fw1", "--token", admin);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("refused by fw1: fw1 is ACTIVE, not SUSPENDED: nothing to resume");
    }

    @Test
    void anUnreachableNodeAndBadUsage() {
        Run dead = run("demote", "-c", cluster.toString(), "--node", "fw2", "--token", admin);
        assertThat(dead.code()).isEqualTo(1);
        assertThat(dead.err()).contains("no API at http://127.0.0.1:" + deadPort + " (connection refused)");
        Run unknown = run("demote", "-c", cluster.toString(), "--node", "fw9", "--token", admin);
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("node 'fw9' is not in").contains("[fw1, fw2]");
        Run via = run("demote", "--api", url(), "--token", admin, "--via", "fw2");
        assertThat(via.code()).isEqualTo(2);
        assertThat(run("demote", "--api", "ftp://x", "--token", admin).code()).isEqualTo(2);
        assertThat(run("demote", "--api", url(), "--token", admin, "--reason", "a\u0001b").code()).isEqualTo(2);
        assertThat(fw1.calls).isEmpty();
    }

    @Test
    void syncConfigShowsTheNodesRefusal() {
        fw1.refusals.put("sync-config", "configuration sync is not available yet on fw1");
        Run r = run("sync", "config", "--api", url(), "--token", admin, "--force");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("refused by " + url() + ": configuration sync is not available yet on fw1");
        fw1.refusals.clear();
        Run ok = run("sync", "config", "-c", cluster.toString(), "--node", "fw1", "--token", admin, "--reason", "new rules");
        assertThat(ok.code()).isZero();
        assertThat(fw1.calls).containsExactly(new FakeNode.Call("sync-config", "alice", "new rules"));
        Run noToken = run("sync", "config", "-c", cluster.toString(), "--node", "fw1");
        assertThat(noToken.code()).isEqualTo(1); // the control socket: no node runs here
        assertThat(noToken.err()).contains("is not running here");
    }

    // ---------------------------------------------------------------------------------------------- events

    private void events(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            fw1.append(new Event(0, T0 + i * 1000L, "fw1", i % 10 == 0 ? Event.TRANSITION : Event.INFO,
                    "event " + i + (i == 3 ? "\nsecond line\u001b[2J" : ""), i % 10 == 0 ? "alice" : null));
        }
        fw1.flush();
    }

    @Test
    void eventsTableInLocalTime() throws Exception {
        events(5);
        Run r = run("events", "--api", url(), "--token", viewer);
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(6);
        assertThat(lines.get(0)).startsWith("time (" + ZoneId.systemDefault().getId() + ")").contains("node  kind").endsWith("text  (actor)");
        String local = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").format(Instant.ofEpochMilli(T0 + 4000).atZone(ZoneId.systemDefault()));
        assertThat(lines.get(1)).isEqualTo(local + "  fw1   INFO        event 4  (-)");
        assertThat(lines.get(2)).contains("event 3 / second line [2J").doesNotContain("\u001b");
        assertThat(lines.get(5)).contains("TRANSITION  event 0  (alice)");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void eventsPagesWithAll() throws Exception {
        events(250);
        Run page = run("events", "-c", cluster.toString(), "--node", "fw1", "--token", viewer, "--limit", "100");
        assertThat(page.out().lines().count()).isEqualTo(101);
        assertThat(page.err()).contains("more events are older: --all");
        Run all = run("events", "-c", cluster.toString(), "--node", "fw1", "--token", viewer, "--limit", "100", "--all", "--json");
        assertThat(all.code()).as(all.err()).isZero();
        Map<String, Object> m = (Map<String, Object>) Json.parse(all.out());
        List<Object> ev = (List<Object>) m.get("events");
        assertThat(ev).hasSize(250);
        assertThat(m.get("next_cursor")).isNull();
        assertThat((Map<String, Object>) ev.get(0)).containsEntry("text", "event 249");
        assertThat((Map<String, Object>) ev.get(249)).containsEntry("text", "event 0");
        // one page with --json: the API's answer untouched
        Run one = run("events", "--api", url(), "--token", viewer, "--limit", "2", "--json");
        Map<String, Object> p = (Map<String, Object>) Json.parse(one.out());
        assertThat((List<Object>) p.get("events")).hasSize(2);
        assertThat(p.get("next_cursor")).isNotNull();
        // filters reach the API
        Run kind = run("events", "--api", url(), "--token", viewer, "--kind", "TRANSITION", "--all");
        assertThat(kind.out().lines().count()).isEqualTo(26);
        Run window = run("events", "--api", url(), "--token", viewer, "--json", "--since", Instant.ofEpochMilli(T0 + 10_000).toString(),
                "--until", Long.toString(T0 + 20_000));
        assertThat((List<Object>) ((Map<String, Object>) Json.parse(window.out())).get("events")).hasSize(10);
    }

    @Test
    void allStopsAfterAHundredPages() throws Exception {
        events(102);
        Run r = run("events", "--api", url(), "--token", viewer, "--limit", "1", "--all", "--json");
        assertThat(r.code()).isZero();
        Map<String, Object> m = (Map<String, Object>) Json.parse(r.out());
        assertThat((List<Object>) m.get("events")).hasSize(100);
        assertThat(m.get("next_cursor")).isNotNull();
        assertThat(r.err()).contains("stopped after 100 pages (100 events)");
    }

    @Test
    void badTimesAndLimitsNameTheOption() {
        Run since = run("events", "--api", url(), "--token", viewer, "--since", "yesterday");
        assertThat(since.code()).isEqualTo(2);
        assertThat(since.err()).startsWith("error: --since: expected a duration").contains("got 'yesterday'");
        Run until = run("events", "--api", url(), "--token", viewer, "--until", "10x");
        assertThat(until.code()).isEqualTo(2);
        assertThat(until.err()).startsWith("error: --until:");
        Run limit = run("events", "--api", url(), "--token", viewer, "--limit", "0");
        assertThat(limit.code()).isEqualTo(2);
        assertThat(limit.err()).contains("--limit must be 1 to 1000");
        assertThat(run("events", "--api", url(), "--token", viewer, "--limit", "many").code()).isEqualTo(2); // picocli
        Run noToken = run("events", "-c", cluster.toString(), "--node", "fw1");
        assertThat(noToken.code()).isEqualTo(2);
        assertThat(noToken.err()).contains("events come from the API");
    }

    @Test
    void timeForms() throws Exception {
        Instant now = Instant.parse("2025-06-01T12:00:00Z");
        assertThat(EventsCommand.time("--since", "10m", now)).isEqualTo(now.minusSeconds(600).toEpochMilli());
        assertThat(EventsCommand.time("--since", "2h", now)).isEqualTo(now.minusSeconds(7200).toEpochMilli());
        assertThat(EventsCommand.time("--since", "1w", now)).isEqualTo(now.minusSeconds(7 * 86400).toEpochMilli());
        assertThat(EventsCommand.time("--since", "2025-01-31T12:00:00Z", now)).isEqualTo(Instant.parse("2025-01-31T12:00:00Z").toEpochMilli());
        assertThat(EventsCommand.time("--since", "2025-01-31T13:00:00+01:00", now)).isEqualTo(Instant.parse("2025-01-31T12:00:00Z").toEpochMilli());
        assertThat(EventsCommand.time("--since", "2025-01-31T13:00", now))
                .isEqualTo(LocalDateTime.parse("2025-01-31T13:00").atZone(ZoneId.systemDefault()).toInstant().toEpochMilli());
        assertThat(EventsCommand.time("--since", "1790000000000", now)).isEqualTo(1_790_000_000_000L);
    }

    // ---------------------------------------------------------------------------------------------- ApiClient

    @Test
    void clientErrorMapping() throws Exception {
        try (ApiClient c = new ApiClient(URI.create(url()), viewer, null)) {
            assertThat(c.get("/api/v1/whoami")).contains("\"victor\"");
            assertThat(failure(() -> c.get("/api/v1/nothing")).getMessage()).startsWith("not found at " + url());
            assertThat(failure(() -> c.get("/api/v1/events?limit=0")).getMessage()).isEqualTo("bad request: limit must be a whole number from 1 to 1000");
            ApiClient.ApiException e = failure(() -> c.post("/api/v1/actions/demote", null));
            assertThat(e.status).isEqualTo(403);
            assertThat(e.getMessage()).startsWith("token lacks the admin role");
        }
        try (ApiClient c = new ApiClient(URI.create("http://127.0.0.1:" + deadPort), viewer, null)) {
            ApiClient.ApiException e = failure(() -> c.get("/api/v1/status"));
            assertThat(e.status).isZero();
            assertThat(e.getMessage()).isEqualTo("no API at http://127.0.0.1:" + deadPort + " (connection refused)");
        }
        assertThat(ApiClient.isLoopback(URI.create("http://[::1]:1"))).isTrue();
        assertThat(ApiClient.isLoopback(URI.create("http://localhost:1"))).isTrue();
        assertThat(ApiClient.isLoopback(URI.create("http://192.0.2.1:1"))).isFalse();
        assertThat(ApiClient.isLoopback(URI.create("http://fw1.example:1"))).isFalse();
    }

    @Test
    void httpsTrustsTheClusterCaAndChecksTheNodeName() throws Exception {
        Path pki = dir.resolve("pki");
        Pki.init(pki, "t");
        Pki.issue(pki, "fw1");
        Path other = dir.resolve("other");
        Pki.init(other, "o");
        try (ApiServer https = ApiServer.start(fw1, tokens, ApiServer.Settings.https(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ApiServer.tlsContext(pki, "fw1")))) {
            String u = "https://127.0.0.1:" + https.address().getPort();
            Run ok = run("status", "--api", u, "--ca", pki.resolve("ca.crt").toString(), "--token", viewer, "--node", "fw1");
            assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
            assertThat(ok.out()).startsWith("fw1  ACTIVE");
            Run anyNode = run("status", "--api", u, "--ca", pki.resolve("ca.crt").toString(), "--token", viewer);
            assertThat(anyNode.code()).isZero();
            Run wrongNode = run("status", "--api", u, "--ca", pki.resolve("ca.crt").toString(), "--token", viewer, "--node", "fw2");
            assertThat(wrongNode.code()).isEqualTo(1);
            assertThat(wrongNode.out()).contains("TLS with " + u + " failed").contains("not node 'fw2'");
            Run wrongCa = run("status", "--api", u, "--ca", other.resolve("ca.crt").toString(), "--token", viewer);
            assertThat(wrongCa.code()).isEqualTo(1);
            assertThat(wrongCa.out()).contains("TLS with " + u + " failed");
            Run noCa = run("status", "-c", dir.resolve("absent.yaml").toString(), "--api", u, "--token", viewer);
            assertThat(noCa.code()).isEqualTo(2);
            assertThat(noCa.err()).contains("https needs the cluster CA: --ca FILE");
        }
    }

    @Test
    void managementUrlFollowsTheDaemon() throws Exception {
        var cfg = dev.tandem.node.config.ConfigLoader.load(cluster).config();
        assertThat(ApiOptions.managementUrl(cfg, cfg.node("fw1"))).hasToString(url());
        String remote = Files.readString(cluster).replace("address: 127.0.0.1, port: " + deadPort, "address: 192.0.2.2")
                .replace("cluster:\n", "cluster:\n  security: {pki_dir: " + dir + "}\n");
        var cfg2 = dev.tandem.node.config.ConfigLoader.parse(remote, "t");
        assertThat(cfg2.errors()).isEmpty();
        assertThat(ApiOptions.managementUrl(cfg2.config(), cfg2.config().node("fw2"))).hasToString("https://192.0.2.2:8443");
    }

    interface Call {
        String run() throws ApiClient.ApiException;
    }

    private static ApiClient.ApiException failure(Call c) {
        try {
            String s = c.run();
            throw new AssertionError("expected a failure, got " + s);
        } catch (ApiClient.ApiException e) {
            return e;
        }
    }
}
