package dev.tandem.node.api;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.tandem.node.channel.Pki;
import dev.tandem.node.events.Event;
import dev.tandem.node.events.EventPage;
import dev.tandem.node.events.EventQuery;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * The operator HTTP surface of one node: the REST API ({@code /api/v1/...}), the live stream (server-sent events)
 * and the dashboard ({@code /}). See docs/api.md.
 *
 * <p>Bounded everywhere: request bodies at most {@value #MAX_BODY} bytes, a fixed pool of request threads with a
 * bounded queue (beyond it connections are closed), and at most {@link Settings#maxStreamClients()} stream clients.
 * Stream messages are built by one broadcaster thread and handed to each client's bounded queue; each client has its
 * own writer thread, and a client whose queue fills or whose write stalls longer than
 * {@link Settings#stallTimeout()} is dropped. So neither the node (whose listener calls only record the change) nor
 * other clients ever wait for a slow client.
 */
public final class ApiServer implements AutoCloseable {
    /** Largest request body, bytes. */
    public static final int MAX_BODY = 64 * 1024;
    /** Longest action reason, characters. */
    public static final int MAX_REASON = 1000;
    /** Page size of the events endpoint when no limit is given. */
    public static final int DEFAULT_LIMIT = 100;

    private static final System.Logger LOG = System.getLogger("tandem.api");
    private static final String JSON = "application/json; charset=utf-8";

    /**
     * How to run the server.
     *
     * @param bind             address and port (port 0: any free port)
     * @param tls              the TLS context (e.g. {@link #tlsContext}), or {@code null} for plain HTTP
     * @param allowPlaintext   plain HTTP on a non-loopback address (refused unless true)
     * @param threads          request threads
     * @param queue            requests waiting for a thread before connections are closed
     * @param maxStreamClients concurrent {@code /api/v1/stream} clients
     * @param streamQueue      messages queued per stream client before it is dropped as too slow
     * @param stallTimeout     longest a single write to a stream client may take before it is dropped
     * @param keepalive        interval of stream keepalive comments
     */
    public record Settings(InetSocketAddress bind, SSLContext tls, boolean allowPlaintext, int threads, int queue,
                           int maxStreamClients, int streamQueue, Duration stallTimeout, Duration keepalive) {
        public Settings {
            Objects.requireNonNull(bind, "bind");
            if (threads < 1 || queue < 1 || maxStreamClients < 0 || streamQueue < 2) {
                throw new IllegalArgumentException("threads, queue and streamQueue must be positive");
            }
            Objects.requireNonNull(stallTimeout, "stallTimeout");
            Objects.requireNonNull(keepalive, "keepalive");
        }

        /** HTTPS on {@code bind} with the defaults: 8 threads, queue 64, 32 stream clients of 64 messages, 10 s, 15 s. */
        public static Settings https(InetSocketAddress bind, SSLContext tls) {
            return new Settings(bind, Objects.requireNonNull(tls, "tls"), false, 8, 64, 32, 64, Duration.ofSeconds(10),
                    Duration.ofSeconds(15));
        }

        /** Plain HTTP on {@code bind} (only a loopback address unless {@link #withPlaintextAllowed}). */
        public static Settings plain(InetSocketAddress bind) {
            return new Settings(bind, null, false, 8, 64, 32, 64, Duration.ofSeconds(10), Duration.ofSeconds(15));
        }

        public Settings withPlaintextAllowed() {
            return new Settings(bind, tls, true, threads, queue, maxStreamClients, streamQueue, stallTimeout, keepalive);
        }

        public Settings withStreams(int maxClients, int perClientQueue, Duration stall, Duration keepaliveEvery) {
            return new Settings(bind, tls, allowPlaintext, threads, queue, maxClients, perClientQueue, stall, keepaliveEvery);
        }

        public Settings withThreads(int n, int waiting) {
            return new Settings(bind, tls, allowPlaintext, n, waiting, maxStreamClients, streamQueue, stallTimeout, keepalive);
        }
    }

    private final NodeView view;
    private final TokenStore tokens;
    private final Settings settings;
    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final StreamHub hub;
    private final NodeView.Registration registration;
    private final Map<String, Asset> assets;

    private record Asset(byte[] body, String type) {}

    private ApiServer(NodeView view, TokenStore tokens, Settings settings) throws IOException {
        this.view = Objects.requireNonNull(view, "view");
        this.tokens = Objects.requireNonNull(tokens, "tokens");
        this.settings = settings;
        if (settings.tls() == null && !settings.allowPlaintext() && !settings.bind().getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("plain HTTP on " + settings.bind() + " refused: give a TLS context, bind to "
                    + "loopback, or allow plaintext explicitly");
        }
        this.assets = Map.of(
                "/", asset("dashboard.html", "text/html; charset=utf-8"),
                "/index.html", asset("dashboard.html", "text/html; charset=utf-8"),
                "/dashboard.js", asset("dashboard.js", "text/javascript; charset=utf-8"),
                "/dashboard.css", asset("dashboard.css", "text/css; charset=utf-8"));
        AtomicInteger n = new AtomicInteger();
        executor = new ThreadPoolExecutor(settings.threads(), settings.threads(), 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(settings.queue()),
                r -> Thread.ofPlatform().name("api-" + view.node() + "-" + n.incrementAndGet()).daemon(true).unstarted(r));
        executor.allowCoreThreadTimeOut(true);
        if (settings.tls() != null) {
            HttpsServer s = HttpsServer.create(settings.bind(), 128);
            SSLContext ctx = settings.tls();
            s.setHttpsConfigurator(new HttpsConfigurator(ctx) {
                @Override
                public void configure(HttpsParameters p) {
                    SSLParameters sp = ctx.getDefaultSSLParameters();
                    sp.setNeedClientAuth(false); // browsers: the API authenticates with tokens
                    sp.setWantClientAuth(false);
                    p.setSSLParameters(sp);
                }
            });
            server = s;
        } else {
            server = HttpServer.create(settings.bind(), 128);
        }
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        hub = new StreamHub(view, settings);
        registration = view.addListener(hub);
    }

    /** Starts a server for {@code view}, authenticating with {@code tokens}. */
    public static ApiServer start(NodeView view, TokenStore tokens, Settings settings) throws IOException {
        ApiServer a = new ApiServer(view, tokens, settings);
        a.hub.start();
        a.server.start();
        LOG.log(System.Logger.Level.INFO, "api: " + view.node() + " serving " + (settings.tls() != null ? "https" : "http")
                + " on " + a.address());
        return a;
    }

    /**
     * The TLS context for the API from the cluster PKI directory ({@code ca.crt}, {@code NODE.crt}, {@code NODE.key}):
     * the node's own certificate. Clients (browsers, curl) need to trust the cluster CA ({@code ca.crt}).
     */
    public static SSLContext tlsContext(Path pkiDir, String node) throws IOException, GeneralSecurityException {
        return Pki.context(pkiDir, node);
    }

    /** The bound address (with the real port when bound to port 0). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** Connected stream clients. */
    public int streamClients() {
        return hub.clients();
    }

    @Override
    public void close() {
        registration.close();
        hub.close();
        server.stop(0);
        executor.shutdownNow();
    }

    // ---------------------------------------------------------------------------------------------- dispatch

    private void handle(HttpExchange ex) {
        boolean handedOver = false;
        try {
            try {
                handedOver = route(ex);
            } catch (ApiError e) {
                send(ex, e.status, Json.error(e.getMessage()), e.headers);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "api: client went away: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "api: " + ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath()
                    + " failed", e);
            try {
                send(ex, 500, Json.error("internal error"), Map.of());
            } catch (IOException | RuntimeException ignored) {
                // headers may be out already
            }
        } finally {
            if (!handedOver) { // a stream's exchange belongs to its writer thread now
                ex.close();
            }
        }
    }

    /** Answers the request; true when the exchange was handed to a stream writer (and must stay open). */
    private boolean route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        String method = ex.getRequestMethod();
        Asset a = assets.get(path);
        if (a != null) {
            requireMethod(method, "GET");
            Headers h = ex.getResponseHeaders();
            h.set("Content-Type", a.type());
            h.set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                    + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
            h.set("X-Frame-Options", "DENY");
            h.set("Referrer-Policy", "no-referrer");
            commonHeaders(ex);
            ex.sendResponseHeaders(200, a.body().length);
            ex.getResponseBody().write(a.body());
            return false;
        }
        if (path.equals("/api/v1/status")) {
            requireMethod(method, "GET");
            authenticate(ex, false);
            noQuery(ex);
            String status;
            try {
                status = view.statusJson();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "api: status of " + view.node() + " unavailable: " + e);
                throw new ApiError(503, "status unavailable");
            }
            send(ex, 200, status, Map.of());
        } else if (path.equals("/metrics")) {
            requireMethod(method, "GET");
            authenticate(ex, false); // Prometheus sends the token: authorization: {credentials: ...}
            noQuery(ex);
            String text;
            try {
                text = view.metrics();
            } catch (UnsupportedOperationException e) {
                throw new ApiError(404, "this node has no metrics");
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "api: metrics of " + view.node() + " unavailable: " + e);
                throw new ApiError(503, "metrics unavailable");
            }
            byte[] body = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            commonHeaders(ex);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
        } else if (path.equals("/api/v1/whoami")) {
            requireMethod(method, "GET");
            TokenStore.Principal p = authenticate(ex, false);
            noQuery(ex);
            send(ex, 200, "{\"name\":" + Json.q(p.name()) + ",\"role\":" + Json.q(p.role().word()) + ",\"node\":"
                    + Json.q(view.node()) + "}", Map.of());
        } else if (path.equals("/api/v1/events")) {
            requireMethod(method, "GET");
            authenticate(ex, false);
            events(ex);
        } else if (path.startsWith("/api/v1/actions/") && NodeView.ACTIONS.contains(path.substring(16))) {
            requireMethod(method, "POST");
            TokenStore.Principal p = authenticate(ex, false);
            noQuery(ex);
            action(ex, path.substring(16), p);
        } else if (path.equals("/api/v1/stream")) {
            requireMethod(method, "GET");
            TokenStore.Principal p = authenticate(ex, true);
            query(ex, List.of("access_token"));
            return stream(ex, p);
        } else {
            throw new ApiError(404, "no such resource: " + shorten(path));
        }
        return false;
    }

    private void events(HttpExchange ex) throws IOException {
        Map<String, String> q = query(ex, List.of("since", "until", "kind", "node", "limit", "cursor"));
        int limit = DEFAULT_LIMIT;
        if (q.containsKey("limit")) {
            try {
                limit = Integer.parseInt(q.get("limit"));
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > EventQuery.MAX_LIMIT) {
                throw new ApiError(400, "limit must be a whole number from 1 to " + EventQuery.MAX_LIMIT);
            }
        }
        EventQuery eq = EventQuery.newest(limit);
        if (q.containsKey("since")) {
            eq = eq.withSince(time("since", q.get("since")));
        }
        if (q.containsKey("until")) {
            eq = eq.withUntil(time("until", q.get("until")));
        }
        if (q.containsKey("kind")) {
            eq = eq.withKind(word("kind", q.get("kind")));
        }
        if (q.containsKey("node")) {
            eq = eq.withNode(word("node", q.get("node")));
        }
        if (q.containsKey("cursor")) {
            try {
                eq = eq.withCursor(q.get("cursor"));
            } catch (IllegalArgumentException e) {
                throw new ApiError(400, "cursor: " + e.getMessage());
            }
        }
        EventPage page;
        try {
            page = view.events(eq);
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "api: event log of " + view.node() + " unavailable: " + e);
            throw new ApiError(503, "event log unavailable");
        }
        StringBuilder b = new StringBuilder("{\"events\":[");
        for (int i = 0; i < page.events().size(); i++) {
            b.append(i == 0 ? "" : ",").append(eventJson(page.events().get(i)));
        }
        b.append("],\"next_cursor\":").append(Json.q(page.nextCursor())).append('}');
        send(ex, 200, b.toString(), Map.of());
    }

    /** One event as the API shows it (the same in /api/v1/events and the stream). */
    static String eventJson(Event e) {
        return "{\"id\":" + e.id() + ",\"time\":" + Json.q(Instant.ofEpochMilli(e.timeMillis()).toString()) + ",\"time_ms\":"
                + e.timeMillis() + ",\"node\":" + Json.q(e.node()) + ",\"kind\":" + Json.q(e.kind()) + ",\"text\":"
                + Json.q(e.text()) + ",\"actor\":" + Json.q(e.actor()) + "}";
    }

    private static long time(String field, String v) {
        if (v.matches("-?[0-9]{1,18}")) {
            return Long.parseLong(v);
        }
        try {
            return Instant.parse(v).toEpochMilli();
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new ApiError(400, field + " must be epoch milliseconds or an ISO-8601 time such as 2025-01-31T12:00:00Z, not '"
                    + shorten(v) + "'");
        }
    }

    private static String word(String field, String v) {
        if (v.isEmpty() || v.length() > Event.MAX_NAME || v.chars().anyMatch(Character::isISOControl)) {
            throw new ApiError(400, field + " must be 1 to " + Event.MAX_NAME + " characters without control characters");
        }
        return v;
    }

    private void action(HttpExchange ex, String action, TokenStore.Principal p) throws IOException {
        if (!p.role().mayAct()) {
            LOG.log(System.Logger.Level.WARNING, "api: " + action + " on " + view.node() + " refused to token '" + p.name()
                    + "' (role " + p.role().word() + ")");
            throw new ApiError(403, "token '" + p.name() + "' has role " + p.role().word() + "; " + action + " needs admin");
        }
        String reason = reason(readBody(ex));
        String result;
        try {
            result = view.act(action, p.name(), reason);
        } catch (ActionRefused r) {
            LOG.log(System.Logger.Level.INFO, "api: " + action + " on " + view.node() + " by token '" + p.name() + "'"
                    + (reason != null ? " (reason: " + reason + ")" : "") + " refused: " + r.getMessage());
            throw new ApiError(409, r.getMessage());
        }
        LOG.log(System.Logger.Level.INFO, "api: " + action + " on " + view.node() + " by token '" + p.name() + "'"
                + (reason != null ? " (reason: " + reason + ")" : "") + ": " + result);
        send(ex, 200, "{\"node\":" + Json.q(view.node()) + ",\"action\":" + Json.q(action) + ",\"by\":" + Json.q(p.name())
                + ",\"result\":" + Json.q(result) + "}", Map.of());
    }

    private static String reason(String body) {
        if (body.isBlank()) {
            return null;
        }
        Object v;
        try {
            v = Json.parse(body);
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, "body: " + e.getMessage());
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new ApiError(400, "body must be a JSON object such as {\"reason\": \"...\"}");
        }
        for (Object k : m.keySet()) {
            if (!"reason".equals(k)) {
                throw new ApiError(400, "unknown field '" + shorten((String) k) + "' (only 'reason' is taken)");
            }
        }
        Object r = m.get("reason");
        if (r == null) {
            return null;
        }
        if (!(r instanceof String s)) {
            throw new ApiError(400, "reason must be a string");
        }
        if (s.length() > MAX_REASON) {
            throw new ApiError(400, "reason is longer than " + MAX_REASON + " characters");
        }
        if (s.chars().anyMatch(c -> Character.isISOControl(c) && c != '\t')) {
            throw new ApiError(400, "reason must not contain control characters");
        }
        return s.isBlank() ? null : s.strip();
    }

    private boolean stream(HttpExchange ex, TokenStore.Principal p) throws IOException {
        StreamHub.Client c = hub.tryOpen(ex, p.name());
        if (c == null) {
            throw new ApiError(503, "too many stream clients (" + settings.maxStreamClients() + "); try again later");
        }
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", "text/event-stream; charset=utf-8");
        h.set("X-Accel-Buffering", "no");
        commonHeaders(ex);
        try {
            ex.sendResponseHeaders(200, 0);
        } catch (IOException | RuntimeException e) {
            c.drop("could not start: " + e.getMessage());
            throw e;
        }
        c.start();
        return true;
    }

    // ---------------------------------------------------------------------------------------------- helpers

    private TokenStore.Principal authenticate(HttpExchange ex, boolean queryTokenAllowed) {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String token = null;
        if (auth != null) {
            if (!auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
                throw new ApiError(401, "Authorization must be 'Bearer <token>'", Map.of("WWW-Authenticate", "Bearer"));
            }
            token = auth.substring(7).strip();
        } else if (queryTokenAllowed) {
            token = rawQueryParam(ex, "access_token");
        }
        if (token == null || token.isEmpty()) {
            throw new ApiError(401, "missing token: send 'Authorization: Bearer <token>'" + (queryTokenAllowed
                    ? " or ?access_token=<token>" : ""), Map.of("WWW-Authenticate", "Bearer"));
        }
        Optional<TokenStore.Principal> p = tokens.authenticate(token);
        if (p.isEmpty()) {
            throw new ApiError(401, "invalid token", Map.of("WWW-Authenticate", "Bearer error=\"invalid_token\""));
        }
        return p.get();
    }

    private static String rawQueryParam(HttpExchange ex, String name) {
        String raw = ex.getRequestURI().getRawQuery();
        if (raw == null) {
            return null;
        }
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            if (k.equals(name)) {
                try {
                    return URLDecoder.decode(eq < 0 ? "" : part.substring(eq + 1), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    return null;
                }
            }
        }
        return null;
    }

    private static void noQuery(HttpExchange ex) {
        query(ex, List.of());
    }

    private static Map<String, String> query(HttpExchange ex, List<String> allowed) {
        Map<String, String> out = new LinkedHashMap<>();
        String raw = ex.getRequestURI().getRawQuery();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String part : raw.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k;
            String v;
            try {
                k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
                v = URLDecoder.decode(eq < 0 ? "" : part.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new ApiError(400, "query: bad percent-encoding in '" + shorten(part) + "'");
            }
            if (!allowed.contains(k)) {
                throw new ApiError(400, "unknown parameter '" + shorten(k) + "'" + (allowed.isEmpty() ? ""
                        : " (known: " + String.join(", ", allowed) + ")"));
            }
            if (out.put(k, v) != null) {
                throw new ApiError(400, "parameter '" + k + "' given twice");
            }
        }
        return out;
    }

    private static String readBody(HttpExchange ex) throws IOException {
        String cl = ex.getRequestHeaders().getFirst("Content-Length");
        if (cl != null) {
            try {
                if (Long.parseLong(cl.strip()) > MAX_BODY) {
                    throw new ApiError(413, "body larger than " + MAX_BODY + " bytes");
                }
            } catch (NumberFormatException e) {
                throw new ApiError(400, "Content-Length is not a number");
            }
        }
        InputStream in = ex.getRequestBody();
        byte[] b = in.readNBytes(MAX_BODY + 1);
        if (b.length > MAX_BODY) {
            throw new ApiError(413, "body larger than " + MAX_BODY + " bytes");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new ApiError(400, "body is not UTF-8");
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiError(405, "method " + shorten(method) + " not allowed here; use " + allowed, Map.of("Allow", allowed));
        }
    }

    private static void commonHeaders(HttpExchange ex) {
        Headers h = ex.getResponseHeaders();
        h.set("Cache-Control", "no-store");
        h.set("X-Content-Type-Options", "nosniff");
    }

    private static void send(HttpExchange ex, int status, String json, Map<String, String> extra) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", JSON);
        extra.forEach(h::set);
        commonHeaders(ex);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    static String shorten(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return s.length() > 80 ? b + "…" : b.toString();
    }

    private static Asset asset(String name, String type) throws IOException {
        try (InputStream in = ApiServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("dashboard resource " + name + " missing from the build");
            }
            return new Asset(in.readAllBytes(), type);
        }
    }

    /** An answer other than 200, with its message for {"error": ...}. */
    static final class ApiError extends RuntimeException {
        final int status;
        final Map<String, String> headers;

        ApiError(int status, String message) {
            this(status, message, Map.of());
        }

        ApiError(int status, String message, Map<String, String> headers) {
            super(message, null, false, false);
            this.status = status;
            this.headers = headers;
        }
    }
}
