package dev.tandem.node.cli;

import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.config.NodeConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Option;

/**
 * Where a command finds the cluster file and the operator API, and which token it sends (a picocli mixin).
 *
 * <p>The API is used when a token is available ({@code --token}, else {@code $TANDEM_TOKEN}, else the file named
 * by {@code --token-file}); its URL is {@code --api}, else derived from {@code nodes.<node>.management} in the
 * cluster file. Without a token the commands that can fall back to the node's local control socket do so (root
 * only, this host only).
 */
final class ApiOptions {
    /** The environment variable that may hold the token. */
    static final String TOKEN_ENV = "TANDEM_TOKEN";
    /** How the environment is read (tests replace it). */
    static UnaryOperator<String> env = System::getenv;

    @Option(names = {"-c", "--config"}, defaultValue = "/etc/tandem/tandem.yaml",
            description = "cluster file (default: ${DEFAULT-VALUE})")
    Path config;

    @Option(names = "--api", paramLabel = "URL", description = "the node's API, e.g. https://192.0.2.10:8443 "
            + "(default: from nodes.<node>.management in the cluster file)")
    String api;

    @Option(names = "--token", paramLabel = "TOKEN", description = "API token (default: $" + TOKEN_ENV
            + ", else --token-file; without any token the local control socket is used where possible)")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE", description = "read the API token from this file")
    Path tokenFile;

    @Option(names = "--ca", paramLabel = "FILE", description = "CA certificate(s) to trust for https "
            + "(default: ca.crt in the cluster's pki_dir)")
    Path ca;

    /** A mistake in how the command was called (exit code 2). */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message, null, false, false);
        }
    }

    /** One node's API: its name (null when only --api says where), URL, and whether the URL came from --api. */
    record Target(String node, URI url) {}

    private ClusterConfig cfg;
    private boolean cfgLoaded;

    /** The token, or null when none was given anywhere. */
    String token() throws UsageException {
        if (token != null) {
            return check(token.strip(), "--token");
        }
        String e = env.apply(TOKEN_ENV);
        if (e != null && !e.isBlank()) {
            return check(e.strip(), "$" + TOKEN_ENV);
        }
        if (tokenFile != null) {
            String t;
            try {
                t = Files.readAllLines(tokenFile).stream().map(String::strip).filter(s -> !s.isEmpty()).findFirst()
                        .orElseThrow(() -> new UsageException("--token-file " + tokenFile + " is empty"));
            } catch (IOException x) {
                throw new UsageException("--token-file: cannot read " + tokenFile + ": " + x.getMessage());
            }
            return check(t, "--token-file " + tokenFile);
        }
        if (api != null) {
            throw new UsageException("--api needs a token: --token, $" + TOKEN_ENV + " or --token-file");
        }
        return null;
    }

    private static String check(String t, String where) throws UsageException {
        if (t.isEmpty() || t.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new UsageException(where + ": a token is one word of printable ASCII characters");
        }
        return t;
    }

    /** The cluster file, loaded once; null when --api is given and the file does not exist. */
    ClusterConfig cluster() throws UsageException {
        if (!cfgLoaded) {
            cfgLoaded = true;
            if (api != null && !Files.exists(config)) {
                return null;
            }
            cfg = ConfigCommand.loadOrReport(config);
            if (cfg == null) {
                throw new UsageException(config + " is not a valid cluster file (see above)");
            }
        }
        return cfg;
    }

    /** The cluster file, which this call needs. */
    ClusterConfig requireCluster(String why) throws UsageException {
        ClusterConfig c = cluster();
        if (c == null) {
            throw new UsageException(why + " needs the cluster file, and " + config + " does not exist (-c FILE)");
        }
        return c;
    }

    /** The node a single-node command acts on: {@code node}, else this host's name when it is a cluster node. */
    String nodeOrHost(String node) throws UsageException {
        if (node != null) {
            return node;
        }
        if (api != null) {
            return null; // whatever node answers at --api
        }
        ClusterConfig c = requireCluster("finding the node");
        String h = ConfigCommand.hostName();
        if (c.nodes().containsKey(h)) {
            return h;
        }
        throw new UsageException("this host (" + h + ") is not a node of " + config + ": give --node (one of "
                + c.nodes().keySet() + ") or --api URL");
    }

    /** Where to reach {@code node}'s API (null node: only with --api). */
    Target target(String node) throws UsageException {
        if (api != null) {
            URI u;
            try {
                u = URI.create(api.strip());
            } catch (IllegalArgumentException e) {
                throw new UsageException("--api: not a URL: '" + Text.clean(api) + "'");
            }
            if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
                throw new UsageException("--api must look like https://HOST:PORT or http://127.0.0.1:PORT, got '"
                        + Text.clean(api) + "'");
            }
            return new Target(node, u);
        }
        ClusterConfig c = requireCluster("finding the API");
        NodeConfig n = c.nodes().get(node);
        if (n == null) {
            throw new UsageException("node '" + node + "' is not in " + config + " (nodes: " + c.nodes().keySet() + ")");
        }
        return new Target(node, managementUrl(c, n));
    }

    /** The API URL of a node as its daemon serves it, or null when it has no management address. */
    static URI managementUrl(ClusterConfig c, NodeConfig n) {
        NodeConfig.Management m = n.management();
        if (m == null || m.address() == null) {
            return null;
        }
        String host = m.address().contains(":") ? "[" + m.address() + "]" : m.address();
        URI probe = URI.create("http://" + host + ":" + m.port());
        boolean plain = ApiClient.isLoopback(probe) || c.operator().apiPlaintext(); // as NodeDaemon.startApi
        return URI.create((plain ? "http" : "https") + "://" + host + ":" + m.port());
    }

    /** A client for {@code t} (t.url() not null) with the token; TLS trusts the cluster CA. */
    ApiClient client(Target t, String tok, java.io.PrintWriter err) throws UsageException {
        SSLContext tls = null;
        if ("https".equals(t.url().getScheme())) {
            Path caFile = ca;
            if (caFile == null) {
                ClusterConfig c = cluster();
                if (c == null) {
                    throw new UsageException("https needs the cluster CA: --ca FILE (or a cluster file with "
                            + "cluster.security.pki_dir)");
                }
                caFile = Path.of(c.cluster().pkiDir(), "ca.crt");
            }
            try {
                tls = ApiClient.trusting(caFile, t.node());
            } catch (IOException | java.security.GeneralSecurityException e) {
                throw new UsageException("cannot use " + caFile + " as the cluster CA: " + e.getMessage()
                        + (ca == null ? " (give --ca FILE)" : ""));
            }
        } else if (!ApiClient.isLoopback(t.url())) {
            err.println("warning: " + t.url() + " is plain http: the token crosses the network in clear text");
        }
        try {
            return new ApiClient(t.url(), tok, tls);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The nodes of the cluster file, in its order. */
    List<String> nodes() throws UsageException {
        return List.copyOf(requireCluster("listing the nodes").nodes().keySet());
    }
}
