package dev.tandem.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.node.channel.Pki;
import dev.tandem.node.events.Event;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
@SuppressWarnings("unchecked")
class ApiServerTest {
    private static final long T0 = 1_790_000_000_000L;

    @TempDir
    Path dir;

    FakeView view;
    TokenStore tokens;
    ApiServer server;
    String admin;
    String viewer;
    HttpClient http;

    @BeforeEach
    void start() throws Exception {
        view = new FakeView(dir);
        tokens = TokenStore.open(dir.resolve("tokens"));
        admin = tokens.create("alice", Role.ADMIN);
        viewer = tokens.create("victor", Role.VIEWER);
        server = ApiServer.start(view, tokens, ApiServer.Settings.plain(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .withStreams(4, 8, Duration.ofSeconds(1), Duration.ofSeconds(15)));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        server.close();
        view.close();
        http.close();
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10))
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Asserts a JSON error answer and returns its message. */
    private static String error(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        Object o = Json.parse(r.body());
        assertThat(o).isInstanceOf(Map.class);
        Map<String, Object> m = (Map<String, Object>) o;
        assertThat(m.keySet()).containsExactly("error");
        String msg = (String) m.get("error");
        assertThat(msg).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("dev.tandem");
        return msg;
    }

    @Test
    void statusForAViewerAndWhoami() throws Exception {
        HttpResponse<String> r = get("/api/v1/status", viewer);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(view.statusJson());
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-store");
        Map<String, Object> me = (Map<String, Object>) Json.parse(get("/api/v1/whoami", viewer).body());
        assertThat(me).containsEntry("name", "victor").containsEntry("role", "viewer").containsEntry("node", "fw1");
    }

    @Test
    void missingWrongOrMalformedTokensAre401() throws Exception {
        for (String p : List.of("/api/v1/status", "/api/v1/events", "/api/v1/whoami", "/api/v1/stream")) {
            HttpResponse<String> r = get(p, null);
            assertThat(error(r, 401)).contains("missing token");
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(error(get(p, "tdm_notatoken"), 401)).isEqualTo("invalid token");
            assertThat(error(get(p, admin + "x"), 401)).isEqualTo("invalid token");
        }
        HttpResponse<String> basic = http.send(HttpRequest.newBuilder(uri("/api/v1/status"))
                .header("Authorization", "Basic YWxpY2U6eA==").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(error(basic, 401)).contains("Bearer");
        assertThat(error(post("/api/v1/actions/demote", null, null), 401)).contains("missing token");
        // the query-string token is only for the stream
        assertThat(error(get("/api/v1/status?access_token=" + admin, null), 401)).contains("missing token");
        assertThat(view.calls).isEmpty();
    }

    @Test
    void aRevokedTokenIsRefusedAtOnce() throws Exception {
        assertThat(get("/api/v1/status", viewer).statusCode()).isEqualTo(200);
        assertThat(TokenStore.open(dir.resolve("tokens")).revoke("victor")).isTrue(); // as the CLI does
        assertThat(error(get("/api/v1/status", viewer), 401)).isEqualTo("invalid token");
        assertThat(get("/api/v1/status", admin).statusCode()).isEqualTo(200);
    }

    @Test
    void aViewersActionIs403AndNeverReachesTheNode() throws Exception {
        for (String a : NodeView.ACTIONS) {
            assertThat(error(post("/api/v1/actions/" + a, viewer, "{\"reason\":\"x\"}"), 403))
                    .contains("victor").contains("viewer").contains("admin");
        }
        assertThat(view.calls).isEmpty();
    }

    @Test
    void anAdminsActionReachesTheNodeWithTheTokenName() throws Exception {
        HttpResponse<String> r = post("/api/v1/actions/demote", admin, "{\"reason\": \"kernel update\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat((Map<String, Object>) Json.parse(r.body())).containsEntry("action", "demote").containsEntry("by", "alice")
                .containsEntry("result", "fw1: demote done").containsEntry("node", "fw1");
        assertThat(post("/api/v1/actions/sync-config", admin, null).statusCode()).isEqualTo(200);
        assertThat(post("/api/v1/actions/suspend", admin, "{}").statusCode()).isEqualTo(200);
        assertThat(post("/api/v1/actions/resume", admin, "{\"reason\":null}").statusCode()).isEqualTo(200);
        assertThat(view.calls).extracting(FakeView.Call::action, FakeView.Call::who, FakeView.Call::reason).containsExactly(
                org.assertj.core.groups.Tuple.tuple("demote", "alice", "kernel update"),
                org.assertj.core.groups.Tuple.tuple("sync-config", "alice", null),
                org.assertj.core.groups.Tuple.tuple("suspend", "alice", null),
                org.assertj.core.groups.Tuple.tuple("resume", "alice", null));
    }

    @Test
    void aRefusedActionIs409WithTheNodesReason() throws Exception {
        view.refusal = "fw1 is PASSIVE: nothing to demote";
        assertThat(error(post("/api/v1/actions/demote", admin, null), 409)).isEqualTo("fw1 is PASSIVE: nothing to demote");
    }

    @Test
    void badBodiesAre400NamingTheField() throws Exception {
        assertThat(error(post("/api/v1/actions/demote", admin, "{\"reason\": 5}"), 400)).contains("reason");
        assertThat(error(post("/api/v1/actions/demote", admin, "{\"reason\": \"a\", \"force\": true}"), 400)).contains("'force'");
        assertThat(error(post("/api/v1/actions/demote", admin, "{\"reason\": \"" + "x".repeat(1001) + "\"}"), 400))
                .contains("reason").contains("1000");
        assertThat(error(post("/api/v1/actions/demote", admin, "{\"reason\": \"a\\u0000b\"}"), 400)).contains("reason");
        assertThat(error(post("/api/v1/actions/demote", admin, "{\"reason\": "), 400)).startsWith("body: invalid JSON");
        assertThat(error(post("/api/v1/actions/demote", admin, "not json"), 400)).startsWith("body: invalid JSON");
        assertThat(error(post("/api/v1/actions/demote", admin, "[1]"), 400)).contains("body must be a JSON object");
        assertThat(error(post("/api/v1/actions/demote", admin, "{\"reason\":\"a\"} x"), 400)).startsWith("body: invalid JSON");
        assertThat(error(post("/api/v1/actions/demote", admin, "[".repeat(100)), 400)).contains("deep");
        HttpResponse<String> notUtf8 = http.send(HttpRequest.newBuilder(uri("/api/v1/actions/demote"))
                .header("Authorization", "Bearer " + admin)
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[]{'{', '"', (byte) 0xff, '"', '}'})).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(error(notUtf8, 400)).contains("UTF-8");
        assertThat(error(post("/api/v1/actions/demote?force=1", admin, null), 400)).contains("'force'");
        assertThat(error(post("/api/v1/actions/demote", admin, "{\"reason\":\"" + "x".repeat(70_000) + "\"}"), 413))
                .contains("65536");
        assertThat(view.calls).isEmpty();
    }

    @Test
    void badEventParametersAre400NamingTheParameter() throws Exception {
        assertThat(error(get("/api/v1/events?limit=0", viewer), 400)).startsWith("limit");
        assertThat(error(get("/api/v1/events?limit=1001", viewer), 400)).startsWith("limit").contains("1000");
        assertThat(error(get("/api/v1/events?limit=ten", viewer), 400)).startsWith("limit");
        assertThat(error(get("/api/v1/events?since=yesterday", viewer), 400)).startsWith("since");
        assertThat(error(get("/api/v1/events?until=2025-13-01", viewer), 400)).startsWith("until");
        assertThat(error(get("/api/v1/events?kind=" + "K".repeat(65), viewer), 400)).startsWith("kind");
        assertThat(error(get("/api/v1/events?node=", viewer), 400)).startsWith("node");
        assertThat(error(get("/api/v1/events?cursor=abc", viewer), 400)).startsWith("cursor");
        assertThat(error(get("/api/v1/events?limit=1&limit=2", viewer), 400)).contains("'limit'").contains("twice");
        assertThat(error(get("/api/v1/events?sort=asc", viewer), 400)).contains("'sort'");
        assertThat(error(get("/api/v1/status?verbose=1", viewer), 400)).contains("'verbose'");
    }

    @Test
    void unknownPathsAre404AndWrongMethods405() throws Exception {
        assertThat(error(get("/api/v1/nothing", admin), 404)).contains("/api/v1/nothing");
        assertThat(error(post("/api/v1/actions/reboot", admin, null), 404)).contains("reboot");
        assertThat(error(get("/api/v2/status", admin), 404)).isNotEmpty();
        assertThat(error(get("/etc/passwd", null), 404)).isNotEmpty();
        assertThat(error(get("/api/v1/actions/demote", admin), 405)).contains("POST");
        HttpResponse<String> del = http.send(HttpRequest.newBuilder(uri("/api/v1/status")).DELETE()
                .header("Authorization", "Bearer " + admin).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(error(del, 405)).contains("GET");
        assertThat(view.calls).isEmpty();
    }

    @Test
    void failuresOfTheNodeAre503WithoutDetails() throws Exception {
        view.statusFailure = new IllegalStateException("secret internal detail");
        assertThat(error(get("/api/v1/status", admin), 503)).isEqualTo("status unavailable");
        view.store.close(); // the event log goes away
        assertThat(error(get("/api/v1/events", admin), 503)).isEqualTo("event log unavailable");
    }

    @Test
    void eventsArePagedNewestFirstWithFilters() throws Exception {
        for (int i = 0; i < 25; i++) {
            view.store.append(Event.of(T0 + i * 1000L, i % 2 == 0 ? "fw1" : "fw2", i % 5 == 0 ? Event.TRANSITION : Event.INFO,
                    "event " + i, i == 0 ? "alice" : null));
        }
        view.store.flush(Duration.ofSeconds(10));
        List<String> texts = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            HttpResponse<String> r = get("/api/v1/events?limit=10" + (cursor == null ? "" : "&cursor="
                    + URLEncoder.encode(cursor, StandardCharsets.UTF_8)), viewer);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            Map<String, Object> page = (Map<String, Object>) Json.parse(r.body());
            List<Object> events = (List<Object>) page.get("events");
            assertThat(events).hasSizeLessThanOrEqualTo(10);
            events.forEach(e -> texts.add((String) ((Map<String, Object>) e).get("text")));
            cursor = (String) page.get("next_cursor");
            pages++;
        } while (cursor != null);
        assertThat(pages).isEqualTo(3);
        List<String> expected = new ArrayList<>();
        for (int i = 24; i >= 0; i--) {
            expected.add("event " + i);
        }
        assertThat(texts).containsExactlyElementsOf(expected);

        Map<String, Object> first = (Map<String, Object>) ((List<Object>) ((Map<String, Object>) Json.parse(get("/api/v1/events?limit=1&since=" + T0
                + "&until=" + (T0 + 1), viewer).body())).get("events")).getFirst();
        assertThat(first).containsEntry("text", "event 0").containsEntry("actor", "alice").containsEntry("node", "fw1")
                .containsEntry("kind", "TRANSITION").containsEntry("time_ms", T0)
                .containsEntry("time", java.time.Instant.ofEpochMilli(T0).toString());
        assertThat(((Number) first.get("id")).longValue()).isPositive();

        Map<String, Object> filtered = (Map<String, Object>) Json.parse(get("/api/v1/events?kind=TRANSITION&node=fw1&since="
                + java.time.Instant.ofEpochMilli(T0 + 5000) + "&limit=1000", viewer).body());
        assertThat((List<Object>) filtered.get("events")).extracting(e -> ((Map<String, Object>) e).get("text"))
                .containsExactly("event 20", "event 10");
        assertThat(filtered.get("next_cursor")).isNull();
    }

    @Test
    void plainHttpOnlyOnLoopbackUnlessAllowed() {
        assertThatThrownBy(() -> ApiServer.start(view, tokens, ApiServer.Settings.plain(new InetSocketAddress("0.0.0.0", 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("plain HTTP");
    }

    @Test
    void httpsWithTheClusterPki() throws Exception {
        Path pki = dir.resolve("pki");
        Pki.init(pki, "test");
        Pki.issue(pki, "fw1");
        Pki.issue(pki, "ops");
        try (ApiServer tls = ApiServer.start(view, tokens, ApiServer.Settings.https(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ApiServer.tlsContext(pki, "fw1")))) {
            var c = (javax.net.ssl.HttpsURLConnection) URI.create("https://127.0.0.1:" + tls.address().getPort()
                    + "/api/v1/status").toURL().openConnection();
            c.setSSLSocketFactory(Pki.context(pki, "ops").getSocketFactory()); // trusts the cluster CA only
            // the node certificates carry no subject alternative names yet: check the name the certificate gives
            c.setHostnameVerifier((host, session) -> {
                try {
                    return "fw1".equals(Pki.commonName((java.security.cert.X509Certificate) session.getPeerCertificates()[0]));
                } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                    return false;
                }
            });
            c.setRequestProperty("Authorization", "Bearer " + viewer);
            c.setConnectTimeout(5000);
            c.setReadTimeout(5000);
            assertThat(c.getResponseCode()).isEqualTo(200);
            assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).contains("\"state\":\"ACTIVE\"");
            assertThat(c.getCipherSuite()).startsWith("TLS_"); // TLS 1.3 suite names
            c.disconnect();
        }
    }

    @Test
    void aCertificateIssuedWithTheManagementAddressPassesTheStandardHostCheck() throws Exception {
        Path pki = dir.resolve("pki-san");
        Pki.init(pki, "test");
        Pki.issue(pki, "fw1", java.util.List.of("127.0.0.1", "fw1.example.net"));
        Pki.issue(pki, "ops");
        try (ApiServer tls = ApiServer.start(view, tokens, ApiServer.Settings.https(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ApiServer.tlsContext(pki, "fw1")))) {
            var c = (javax.net.ssl.HttpsURLConnection) URI.create("https://127.0.0.1:" + tls.address().getPort()
                    + "/api/v1/status").toURL().openConnection();
            c.setSSLSocketFactory(Pki.context(pki, "ops").getSocketFactory()); // the JDK's own host name check
            c.setRequestProperty("Authorization", "Bearer " + viewer);
            c.setConnectTimeout(5000);
            c.setReadTimeout(5000);
            assertThat(c.getResponseCode()).isEqualTo(200);
            c.disconnect();
        }
        assertThatThrownBy(() -> Pki.issue(pki, "fw2", java.util.List.of("bad name!")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("neither an IP address nor a DNS name");
    }

    @Test
    void theDashboardIsServedWithoutATokenAndWithACsp() throws Exception {
        HttpResponse<String> r = get("/", null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
        assertThat(r.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(v -> assertThat(v).contains("default-src 'self'"));
        assertThat(r.body()).contains("dashboard.js");
        assertThat(get("/dashboard.js", null).body()).contains("EventSource");
        assertThat(get("/dashboard.css", null).statusCode()).isEqualTo(200);
    }

    // ---------------------------------------------------------------------------------------------- stream

    /** Reads SSE messages (event name + data) from a connection on a thread of its own. */
    static final class SseReader implements AutoCloseable {
        final BlockingQueue<String[]> messages = new ArrayBlockingQueue<>(10_000);
        final Socket socket;
        final int status;
        final Thread thread;

        SseReader(int port, String query) throws Exception {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(20_000);
            OutputStream o = socket.getOutputStream();
            o.write(("GET /api/v1/stream" + query + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream in = new java.io.BufferedInputStream(socket.getInputStream(), 64 * 1024);
            String statusLine = line(in);
            status = Integer.parseInt(statusLine.split(" ")[1]);
            boolean chunked = false;
            String h;
            while ((h = line(in)) != null && !h.isEmpty()) {
                chunked |= h.equalsIgnoreCase("Transfer-encoding: chunked");
            }
            InputStream body = chunked ? dechunk(in) : in;
            thread = Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                    String event = null;
                    StringBuilder data = new StringBuilder();
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.startsWith("event: ")) {
                            event = line.substring(7);
                        } else if (line.startsWith("data: ")) {
                            data.append(line.substring(6));
                        } else if (line.isEmpty() && event != null) {
                            messages.add(new String[]{event, data.toString()});
                            event = null;
                            data.setLength(0);
                        }
                    }
                } catch (Exception e) {
                    // closed
                }
            });
        }

        private static String line(InputStream in) throws java.io.IOException {
            StringBuilder b = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0 && c != '\n') {
                if (c != '\r') {
                    b.append((char) c);
                }
            }
            return c < 0 && b.isEmpty() ? null : b.toString();
        }

        /** The body of a chunked response as a plain stream. */
        private static InputStream dechunk(InputStream in) {
            return new InputStream() {
                int left;
                boolean end;

                @Override
                public int read() throws java.io.IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws java.io.IOException {
                    while (left == 0 && !end) {
                        String size = line(in);
                        if (size == null) {
                            end = true;
                        } else if (!size.isEmpty()) {
                            left = Integer.parseInt(size.split(";")[0].trim(), 16);
                            end = left == 0;
                        }
                    }
                    if (end) {
                        return -1;
                    }
                    int n = in.read(b, off, Math.min(len, left));
                    if (n < 0) {
                        end = true;
                        return -1;
                    }
                    left -= n;
                    return n;
                }
            };
        }

        String[] next(String event) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < end) {
                String[] m = messages.poll(100, TimeUnit.MILLISECONDS);
                if (m != null && m[0].equals(event)) {
                    return m;
                }
            }
            throw new AssertionError("no '" + event + "' message within 10 s");
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    @Test
    void theStreamSendsASnapshotThenChangesAndEvents() throws Exception {
        try (SseReader s = new SseReader(server.address().getPort(), "?access_token="
                + URLEncoder.encode(viewer, StandardCharsets.UTF_8))) {
            assertThat(s.status).isEqualTo(200);
            assertThat(s.next("status")[1]).contains("\"state\":\"ACTIVE\"");
            view.setState("PASSIVE");
            assertThat(s.next("status")[1]).contains("\"state\":\"PASSIVE\"");
            view.append(Event.of(T0, "fw1", Event.TRANSITION, "fw1 became PASSIVE: demoted by alice", "alice"));
            Map<String, Object> e = (Map<String, Object>) Json.parse(s.next("event")[1]);
            assertThat(e).containsEntry("text", "fw1 became PASSIVE: demoted by alice").containsEntry("actor", "alice");
            assertThat(server.streamClients()).isEqualTo(1);
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.streamClients() > 0 && System.nanoTime() < end) {
            view.setState("ACTIVE"); // the next write finds the connection closed
            Thread.sleep(50);
        }
        assertThat(server.streamClients()).isZero();
    }

    @Test
    void streamClientsAreBounded() throws Exception {
        List<SseReader> open = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                SseReader r = new SseReader(server.address().getPort(), "?access_token=" + viewer);
                open.add(r);
                assertThat(r.status).isEqualTo(200);
            }
            try (SseReader fifth = new SseReader(server.address().getPort(), "?access_token=" + viewer)) {
                assertThat(fifth.status).isEqualTo(503);
            }
        } finally {
            for (SseReader r : open) {
                r.close();
            }
        }
    }

    @Test
    void aSlowStreamClientDelaysNeitherTheNodeNorOthers() throws Exception {
        view.padding = "x".repeat(256 * 1024); // each status message is 256 KiB: socket buffers fill quickly
        server.close(); // default queue per client (64): room for a healthy client on a loaded machine
        server = ApiServer.start(view, tokens, ApiServer.Settings.plain(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .withStreams(4, 64, Duration.ofSeconds(3), Duration.ofSeconds(15)));
        Socket slow = new Socket();
        slow.setReceiveBufferSize(4096);
        slow.connect(new InetSocketAddress("127.0.0.1", server.address().getPort()));
        slow.getOutputStream().write(("GET /api/v1/stream?access_token=" + viewer + " HTTP/1.1\r\nHost: x\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII)); // ... and never reads
        try (SseReader good = new SseReader(server.address().getPort(), "?access_token=" + admin)) {
            good.next("status");
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (server.streamClients() < 2 && System.nanoTime() < end) {
                Thread.sleep(10);
            }
            assertThat(server.streamClients()).isEqualTo(2);
            long worstNotify = 0;
            for (int i = 0; i < 100; i++) {
                long t = System.nanoTime();
                view.setState(i % 2 == 0 ? "PASSIVE" : "ACTIVE"); // what the node's threads do on every change
                view.listeners.forEach(l -> l.eventAppended(Event.of(T0, "fw1", Event.INFO, "tick")));
                worstNotify = Math.max(worstNotify, System.nanoTime() - t);
                if (i % 20 == 0) {
                    long s = System.nanoTime();
                    assertThat(get("/api/v1/status", viewer).statusCode()).isEqualTo(200);
                    assertThat(Duration.ofNanos(System.nanoTime() - s)).isLessThan(Duration.ofSeconds(2));
                }
                Thread.sleep(10);
            }
            // a blocked write would hold the caller for good; allow for scheduling on a loaded machine
            assertThat(Duration.ofNanos(worstNotify)).as("longest listener call").isLessThan(Duration.ofMillis(200));
            view.setState("SUSPENDED");
            // the good client still gets the latest state promptly
            String[] m;
            do {
                m = good.next("status");
            } while (!m[1].contains("\"state\":\"SUSPENDED\""));
            // and the slow one has been dropped (queue full or write stalled), freeing its slot
            end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.streamClients() > 1 && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertThat(server.streamClients()).isEqualTo(1);
        } finally {
            slow.close();
        }
    }
}
