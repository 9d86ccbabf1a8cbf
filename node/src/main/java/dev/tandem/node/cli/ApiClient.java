package dev.tandem.node.cli;

import dev.tandem.node.api.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A small client of one node's operator API (docs/api.md): GET and POST of JSON with a bearer token, connect
 * timeout 3 s, request timeout 10 s. Every failure becomes an {@link ApiException} whose message is meant for the
 * operator as is ("token refused", "no API at ...", the node's refusal text).
 *
 * <p>HTTPS trusts only the cluster CA ({@code ca.crt}). Node certificates carry no subjectAltName yet, so the usual
 * host-name check cannot work against a management IP; instead the server's chain must lead to the cluster CA and,
 * when the client knows which node it talks to, the certificate's CN must be that node's name. Plain HTTP is for
 * loopback URLs (and for nodes configured with {@code operator.api.plaintext}).
 */
final class ApiClient implements AutoCloseable {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    /** A request that did not get a 2xx answer (or none at all); the message is for the operator. */
    static final class ApiException extends Exception {
        /** The HTTP status, or 0 when there was no answer. */
        final int status;

        ApiException(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private final URI base;
    private final String token;
    private final HttpClient http;

    /**
     * @param base  the API's base URL ({@code https://192.0.2.10:8443}); a path, if any, is ignored
     * @param token the bearer token
     * @param tls   the TLS context for https URLs ({@link #trusting}), or null for http
     */
    ApiClient(URI base, String token, SSLContext tls) {
        String scheme = base.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new IllegalArgumentException("the API URL must start with http:// or https://, got '" + base + "'");
        }
        if (base.getHost() == null) {
            throw new IllegalArgumentException("the API URL has no host: '" + base + "'");
        }
        if ("https".equals(scheme) && tls == null) {
            throw new IllegalArgumentException("https needs the cluster CA (--ca FILE or cluster.security.pki_dir)");
        }
        if (token == null || token.isBlank() || token.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new IllegalArgumentException("the token must be one word of printable ASCII characters");
        }
        this.base = URI.create(scheme + "://" + base.getRawAuthority());
        this.token = token;
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER);
        if (tls != null) {
            b.sslContext(tls);
        }
        this.http = b.build();
    }

    /** The base URL, e.g. {@code https://192.0.2.10:8443}. */
    URI base() {
        return base;
    }

    /** True when {@code url}'s host is a loopback address (literal or {@code localhost}). */
    static boolean isLoopback(URI url) {
        String h = url.getHost();
        if (h == null) {
            return false;
        }
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        String literal = h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
        if (!literal.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
            return false; // a name: no DNS look-up here
        }
        try {
            return InetAddress.getByName(literal).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** GET {@code pathAndQuery} (already encoded); the body of a 2xx answer. */
    String get(String pathAndQuery) throws ApiException {
        return send(request(pathAndQuery).GET().build());
    }

    /** POST {@code json} (or an empty body when null) to {@code path}; the body of a 2xx answer. */
    String post(String path, String json) throws ApiException {
        HttpRequest.Builder b = request(path).header("Content-Type", "application/json");
        b.POST(json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        return send(b.build());
    }

    private HttpRequest.Builder request(String pathAndQuery) {
        return HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(REQUEST_TIMEOUT)
                .header("Authorization", "Bearer " + token).header("Accept", "application/json");
    }

    private String send(HttpRequest r) throws ApiException {
        HttpResponse<String> resp;
        try {
            resp = http.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (HttpConnectTimeoutException e) {
            throw new ApiException(0, "no API at " + base + " (no connection within " + CONNECT_TIMEOUT.toSeconds() + " s)");
        } catch (HttpTimeoutException e) {
            throw new ApiException(0, "no answer from " + base + " within " + REQUEST_TIMEOUT.toSeconds() + " s");
        } catch (ConnectException e) {
            throw new ApiException(0, "no API at " + base + " (connection refused)");
        } catch (SSLException e) {
            throw new ApiException(0, "TLS with " + base + " failed: " + rootMessage(e)
                    + " (is it a node of this cluster, and does the CA file hold the cluster CA?)");
        } catch (IOException e) {
            Throwable root = root(e);
            if (root instanceof ConnectException) {
                throw new ApiException(0, "no API at " + base + " (connection refused)");
            }
            if (root instanceof SSLException || root instanceof CertificateException) {
                throw new ApiException(0, "TLS with " + base + " failed: " + rootMessage(e)
                        + " (is it a node of this cluster, and does the CA file hold the cluster CA?)");
            }
            throw new ApiException(0, "no API at " + base + " (" + rootMessage(e) + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, "interrupted while asking " + base);
        }
        int s = resp.statusCode();
        if (s >= 200 && s < 300) {
            return resp.body();
        }
        String msg = errorText(resp.body());
        throw new ApiException(s, switch (s) {
            case 401 -> "token refused by " + base + (msg == null ? "" : " (" + msg + ")");
            case 403 -> "token lacks the admin role" + (msg == null ? "" : " (" + msg + ")");
            case 409 -> msg == null ? "refused by the node" : msg;
            case 400 -> "bad request: " + (msg == null ? "(no reason given)" : msg);
            case 404 -> "not found at " + base + (msg == null ? "" : ": " + msg) + " (is this a Tandem API of this version?)";
            case 503 -> "the node cannot answer now: " + (msg == null ? "service unavailable" : msg);
            default -> base + " answered HTTP " + s + (msg == null ? "" : ": " + msg);
        });
    }

    /** The "error" of a {"error": "..."} answer, cleaned for a terminal, or null. */
    private static String errorText(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            if (Json.parse(body) instanceof Map<?, ?> m && m.get("error") instanceof String e) {
                return Text.clean(e);
            }
        } catch (IllegalArgumentException ignored) {
            // not JSON: show a little of it
        }
        return Text.clean(body.length() > 200 ? body.substring(0, 200) + "…" : body.strip());
    }

    private static Throwable root(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r;
    }

    private static String rootMessage(Throwable t) {
        Throwable r = root(t);
        return r.getMessage() != null ? r.getMessage() : r.getClass().getSimpleName();
    }

    @Override
    public void close() {
        http.close();
    }

    // ---------------------------------------------------------------------------------------------- TLS

    /**
     * A TLS context that trusts the certificates in {@code caFile} (PEM) and nothing else. When {@code node} is not
     * null the server's certificate must also name it (CN); otherwise any certificate the CA signed is taken (the
     * cluster CA signs node certificates only).
     */
    static SSLContext trusting(Path caFile, String node) throws IOException, GeneralSecurityException {
        Collection<? extends java.security.cert.Certificate> cas;
        try (InputStream in = Files.newInputStream(caFile)) {
            cas = CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
        if (cas.isEmpty()) {
            throw new IOException(caFile + " holds no certificate");
        }
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, new char[0]);
        int i = 0;
        for (java.security.cert.Certificate c : cas) {
            ts.setCertificateEntry("ca" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        X509TrustManager pkix = null;
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                pkix = x;
            }
        }
        if (pkix == null) {
            throw new GeneralSecurityException("no X.509 trust manager");
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[]{new ClusterTrust(pkix, node)}, new SecureRandom());
        return ctx;
    }

    /** The cluster CA's chain check (PKIX), then the node name in the CN instead of the host name. */
    private static final class ClusterTrust extends X509ExtendedTrustManager {
        private final X509TrustManager pkix;
        private final String node;

        ClusterTrust(X509TrustManager pkix, String node) {
            this.pkix = pkix;
            this.node = node;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            pkix.checkServerTrusted(chain, authType);
            if (node != null) {
                String cn = dev.tandem.node.channel.Pki.commonName(chain[0]);
                if (!node.equals(cn)) {
                    throw new CertificateException("the server's certificate is for '" + cn + "', not node '" + node + "'");
                }
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a client does not check clients");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }
    }
}
