package dev.tandem.node.alerts;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Delivers an alert as a JSON {@code POST} to a URL. A 2xx answer is success; anything else, a timeout or a
 * connection error is a failure (the dispatcher retries). Redirects are not followed.
 *
 * <p>The body:
 * <pre>{@code
 * {"time":"2026-11-23T12:00:00.123Z","timeMillis":1795435200123,"node":"fw1","kind":"INSTANCE",
 *  "name":"VG1","state":"MASTER","priority":100,"text":"fw1 became ACTIVE: ...","summary":"fw1: INSTANCE VG1 is MASTER (priority 100)"}
 * }</pre>
 */
public final class WebhookSink implements AlertSink {

    private final URI url;
    private final Duration timeout;
    private final Map<String, String> headers;
    private final HttpClient client;

    /** A webhook without extra headers. */
    public WebhookSink(URI url, Duration timeout) {
        this(url, timeout, Map.of());
    }

    /**
     * @param url     an {@code http} or {@code https} URL
     * @param timeout bounds connecting and, separately, the whole request
     * @param headers extra request headers (e.g. {@code Authorization}); names and values without line breaks
     */
    public WebhookSink(URI url, Duration timeout, Map<String, String> headers) {
        this.url = Objects.requireNonNull(url, "url");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        String scheme = url.getScheme();
        if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme)) {
            throw new IllegalArgumentException("webhook URL must be http or https: " + url);
        }
        if (url.getHost() == null) throw new IllegalArgumentException("webhook URL has no host: " + url);
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        for (Map.Entry<String, String> h : headers.entrySet()) {
            if (h.getKey().isBlank() || (h.getKey() + h.getValue()).chars().anyMatch(c -> c == '\r' || c == '\n')) {
                throw new IllegalArgumentException("bad webhook header: " + h.getKey());
            }
        }
        this.headers = Map.copyOf(new LinkedHashMap<>(headers));
        this.client = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    @Override
    public String name() {
        return "webhook " + url;
    }

    @Override
    public void deliver(Alert alert) throws IOException, InterruptedException {
        HttpRequest.Builder rb = HttpRequest.newBuilder(url)
                .timeout(timeout)
                .header("Content-Type", "application/json; charset=utf-8")
                .header("User-Agent", "tandem-alerts")
                .POST(HttpRequest.BodyPublishers.ofString(toJson(alert)));
        headers.forEach(rb::header);
        HttpResponse<Void> response = client.send(rb.build(), HttpResponse.BodyHandlers.discarding());
        int status = response.statusCode();
        if (status < 200 || status > 299) throw new IOException("HTTP " + status + " from " + url);
    }

    /** The JSON body sent for {@code a}. */
    public static String toJson(Alert a) {
        StringBuilder b = new StringBuilder(256 + a.text().length());
        b.append("{\"time\":");
        str(b, a.time().toString());
        b.append(",\"timeMillis\":").append(a.time().toEpochMilli());
        b.append(",\"node\":");
        str(b, a.node());
        b.append(",\"kind\":");
        str(b, a.kind().name());
        b.append(",\"name\":");
        str(b, a.name());
        b.append(",\"state\":");
        str(b, a.state());
        b.append(",\"priority\":").append(a.priority());
        b.append(",\"text\":");
        str(b, a.text());
        b.append(",\"summary\":");
        str(b, a.summary());
        return b.append('}').toString();
    }

    private static void str(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
