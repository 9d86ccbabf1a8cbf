package dev.tandem.node.channel;

import dev.tandem.core.ha.Input;
import dev.tandem.core.ha.NodeState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * The authenticated channel to every peer on every dedicated path (control link, backup link):
 * mutual TLS 1.3 (or plaintext when configured), one TCP connection per peer and path, opened by
 * the node whose name sorts first and accepted by the other. Carries hellos, releases and operator
 * commands; a malformed frame, a certificate from another CA, an unknown node name or a version
 * that differs in major.minor closes the connection with a logged reason. Reconnects with backoff.
 */
public final class PeerChannel implements AutoCloseable {
    private static final int CONNECT_TIMEOUT_MS = 1000;
    private static final int MAX_BACKOFF_MS = 1000;

    /** Where this node and each peer sit on one path. */
    public record PathSpec(String path, String localAddress, Map<String, String> peerAddresses) {}

    /** What the channel hands to the node. */
    public interface Sink {
        void input(Input in);

        void event(String kind, String text);

        void command(Input.CommandKind kind, String who);

        /** A connection to {@code peer} came up (on any path). */
        default void connected(String peer) {}

        /** The last connection to {@code peer} (on every path) closed. */
        default void disconnected(String peer) {}

        /** A complete configuration sync message from {@code peer} (reassembled from CONFIG frames). */
        default void config(String peer, String message) {}

        /** A peer's hello: its configuration version field ("counter hash"). */
        default void configVersion(String peer, String version) {}
    }

    /** CONFIG frames carry a message in chunks: id, index, count, text. */
    private static final int CONFIG_CHUNK_CHARS = 20_000; // at most 60,000 UTF-8 bytes
    private static final int CONFIG_MAX_CHUNKS = 3_400;   // about 64 Mi chars

    private static final class Assembly {
        String id;
        int next;
        int count;
        StringBuilder text;
    }

    private final Map<String, Assembly> assemblies = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong configIds = new java.util.concurrent.atomic.AtomicLong();

    /** The last hello heard from a peer. */
    public record Hello(String node, String role, String state, String priority, String version, String configVersion,
                        String sessionSync, String health, String heardOn, Instant at) {}

    private final String self;
    private final String version;
    private final SSLContext tls; // null: plaintext
    private final int port;
    private final List<PathSpec> paths;
    private final Sink sink;
    private final Supplier<List<String>> helloFields;
    private final byte[] heartbeatKey = new byte[32];
    private final Map<String, byte[]> peerKeys = new ConcurrentHashMap<>();
    private final Map<String, Conn> conns = new ConcurrentHashMap<>();
    private final Map<String, Hello> hellos = new ConcurrentHashMap<>();
    private final Map<String, String> refusals = new ConcurrentHashMap<>();
    private final List<ServerSocket> servers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean open = true;

    private final class Conn {
        final String peer;
        final String path;
        final Socket socket;
        final OutputStream out;

        Conn(String peer, String path, Socket socket) throws IOException {
            this.peer = peer;
            this.path = path;
            this.socket = socket;
            this.out = socket.getOutputStream();
        }

        synchronized void send(byte[] frame) throws IOException {
            out.write(frame);
            out.flush();
        }
    }

    public PeerChannel(String self, String version, SSLContext tls, int port, List<PathSpec> paths, Sink sink,
                       Supplier<List<String>> helloFields) {
        this.self = self;
        this.version = version;
        this.tls = tls;
        this.port = port;
        this.paths = paths;
        this.sink = sink;
        this.helloFields = helloFields;
        new SecureRandom().nextBytes(heartbeatKey);
    }

    public byte[] heartbeatKey() {
        return heartbeatKey.clone();
    }

    /** The key a peer signs its heartbeats with (learned from its hello), or null. */
    public byte[] peerKey(String peer) {
        return peerKeys.get(peer);
    }

    public void start() throws IOException {
        for (PathSpec p : paths) {
            ServerSocket ss;
            if (tls != null) {
                SSLServerSocket s = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket();
                s.setNeedClientAuth(true);
                s.setEnabledProtocols(new String[]{"TLSv1.3"});
                ss = s;
            } else {
                ss = new ServerSocket();
            }
            ss.setReuseAddress(true);
            ss.bind(new InetSocketAddress(literal(p.localAddress()), port));
            servers.add(ss);
            threads.add(Thread.ofPlatform().daemon(true).name("channel-accept-" + p.path()).start(() -> acceptLoop(p, ss)));
            for (Map.Entry<String, String> e : p.peerAddresses().entrySet()) {
                if (self.compareTo(e.getKey()) < 0) {
                    threads.add(Thread.ofPlatform().daemon(true).name("channel-" + p.path() + "-" + e.getKey())
                            .start(() -> connectLoop(p, e.getKey(), e.getValue())));
                }
            }
        }
        threads.add(Thread.ofPlatform().daemon(true).name("channel-hello").start(this::helloLoop));
        threads.add(Thread.ofPlatform().daemon(true).name("channel-send").start(this::sendLoop));
    }

    private static InetAddress literal(String ip) throws IOException {
        dev.tandem.core.net.IpAddress a = dev.tandem.core.net.IpAddress.tryParse(ip);
        if (a == null) {
            throw new IOException("'" + ip + "' is not an address");
        }
        return InetAddress.getByAddress(a.bytes());
    }

    private void acceptLoop(PathSpec p, ServerSocket ss) {
        while (open) {
            Socket s;
            try {
                s = ss.accept();
            } catch (IOException e) {
                if (open) {
                    sink.event("WARNING", "channel: accept on the " + p.path() + " link failed: " + e.getMessage());
                }
                continue;
            }
            Thread.ofPlatform().daemon(true).name("channel-in-" + p.path()).start(() -> {
                String peer = null;
                try {
                    s.setTcpNoDelay(true);
                    peer = authenticate(s, p, null);
                    serve(peer, p.path(), s);
                } catch (IOException e) {
                    refuse(p.path(), peer, s, e.getMessage());
                }
            });
        }
    }

    private void connectLoop(PathSpec p, String peer, String address) {
        int backoff = 50;
        while (open) {
            Socket s = null;
            try {
                s = tls != null ? tls.getSocketFactory().createSocket() : new Socket();
                s.bind(new InetSocketAddress(literal(p.localAddress()), 0));
                s.connect(new InetSocketAddress(literal(address), port), CONNECT_TIMEOUT_MS);
                s.setTcpNoDelay(true);
                authenticate(s, p, peer);
                backoff = 50;
                serve(peer, p.path(), s);
            } catch (IOException e) {
                if (s != null) {
                    refuse(p.path(), peer, s, e.getMessage());
                }
            }
            sleep(backoff);
            backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        }
    }

    /** TLS handshake and the peer's identity: signed by the cluster CA (JSSE checks), CN a known peer. */
    private String authenticate(Socket s, PathSpec p, String expected) throws IOException {
        String remote = s.getInetAddress().getHostAddress();
        if (tls == null) {
            // plaintext: the peer is whoever owns the address on this path
            for (Map.Entry<String, String> e : p.peerAddresses().entrySet()) {
                if (literal(e.getValue()).equals(s.getInetAddress())) {
                    return e.getKey();
                }
            }
            throw new IOException("connection from " + remote + ", which is no peer's " + p.path() + " address");
        }
        SSLSocket ssl = (SSLSocket) s;
        ssl.setEnabledProtocols(new String[]{"TLSv1.3"});
        ssl.setSoTimeout(3000);
        try {
            ssl.startHandshake();
        } catch (IOException e) {
            throw new IOException("TLS handshake with " + remote + " failed (certificate not signed by the cluster CA?): "
                    + e.getMessage());
        }
        ssl.setSoTimeout(0);
        X509Certificate cert = (X509Certificate) ssl.getSession().getPeerCertificates()[0];
        String cn = Pki.commonName(cert);
        if (cn == null || !p.peerAddresses().containsKey(cn)) {
            throw new IOException("certificate of " + remote + " names '" + cn + "', which is not a peer of " + self);
        }
        if (expected != null && !expected.equals(cn)) {
            throw new IOException("expected " + expected + " at " + remote + " but its certificate names " + cn);
        }
        if (!literal(p.peerAddresses().get(cn)).equals(s.getInetAddress())) {
            throw new IOException(cn + " connected from " + remote + ", not from its " + p.path() + " address");
        }
        return cn;
    }

    private void serve(String peer, String path, Socket s) throws IOException {
        // real-time only once authenticated: a TLS handshake in a cold JVM is hundreds of ms of
        // interpreted crypto, which at SCHED_FIFO would starve the JIT and the other daemon on a small host
        dev.tandem.linux.RealtimeScheduling.enterIfConfigured();
        try {
            serveAuthenticated(peer, path, s);
        } finally {
            dev.tandem.linux.RealtimeScheduling.leave();
        }
    }

    private void serveAuthenticated(String peer, String path, Socket s) throws IOException {
        String key = peer + "/" + path;
        Conn c = new Conn(peer, path, s);
        Conn old = conns.put(key, c);
        if (old != null) {
            closeQuietly(old.socket);
        }
        sink.event("INFO", "channel: " + path + " link to " + peer + " connected" + (tls != null ? " (mutual TLS 1.3)"
                : " (PLAINTEXT)"));
        sink.connected(peer);
        String reason = "closed by " + peer;
        try {
            c.send(FrameCodec.encode(FrameCodec.Type.HELLO, hello()));
            if (!health.isEmpty()) {
                c.send(FrameCodec.encode(FrameCodec.Type.HEALTH, health));
            }
            InputStream in = s.getInputStream();
            for (long n = 0; open; n++) {
                FrameCodec.Frame f = FrameCodec.read(in);
                if (f == null) {
                    break;
                }
                String refused = handle(peer, path, f);
                if (refused != null) {
                    reason = refused;
                    sink.event("ALARM", "channel: refusing " + peer + " on the " + path + " link: " + refused);
                    break;
                }
            }
        } catch (IOException e) {
            reason = e.getMessage();
            if (e instanceof FrameCodec.FrameException) {
                sink.event("WARNING", "channel: bad frame from " + peer + " on the " + path + " link: " + reason
                        + "; closing the connection");
            }
        } finally {
            conns.remove(key, c);
            closeQuietly(s);
            if (open) {
                sink.event("WARNING", "channel: " + path + " link to " + peer + " disconnected: " + reason);
                sink.input(new Input.ChannelClosed(peer, path, reason));
                if (conns.keySet().stream().noneMatch(k -> k.startsWith(peer + "/"))) {
                    sink.disconnected(peer);
                }
            }
        }
    }

    /** Returns a refusal reason, or null. */
    private String handle(String peer, String path, FrameCodec.Frame f) {
        switch (f.type()) {
            case HELLO -> {
                String v = f.field(4);
                String cmp = compareVersions(version, v);
                if (cmp != null && cmp.startsWith("refuse")) {
                    refusals.put(peer, cmp);
                    return cmp;
                }
                if (cmp != null && !hellos.containsKey(peer)) {
                    sink.event("WARNING", "channel: " + peer + " " + cmp);
                }
                refusals.remove(peer);
                try {
                    peerKeys.put(peer, HexFormat.of().parseHex(f.field(8)));
                } catch (IllegalArgumentException e) {
                    return "hello with a malformed heartbeat key";
                }
                hellos.put(peer, new Hello(f.field(0), f.field(1), f.field(2), f.field(3), v, f.field(5), f.field(6),
                        f.field(7), path, Instant.now()));
                sink.configVersion(peer, f.field(5));
            }
            case RELEASE -> sink.input(new Input.PeerReleased(peer, f.field(0)));
            case CONFIG -> configChunk(peer, path, f);
            case HEALTH -> {
                Map<String, Boolean> groups = new java.util.TreeMap<>();
                for (String field : f.fields()) {
                    int eq = field.lastIndexOf('=');
                    String v = eq < 0 ? "" : field.substring(eq + 1);
                    if (eq <= 0 || !(v.equals("up") || v.equals("down"))) {
                        sink.event("WARNING", "channel: malformed path group result '" + field + "' from " + peer
                                + " (ignored)");
                        continue;
                    }
                    groups.put(field.substring(0, eq), v.equals("up"));
                }
                sink.input(new Input.PeerHealth(peer, groups));
            }
            case COMMAND -> {
                Input.CommandKind k;
                try {
                    k = Input.CommandKind.valueOf(f.field(0));
                } catch (IllegalArgumentException e) {
                    sink.event("WARNING", "channel: unknown command '" + f.field(0) + "' from " + peer);
                    return null;
                }
                sink.command(k, f.field(1) + " via " + peer);
            }
        }
        return null;
    }

    /** Reassembles a config message; a malformed or out-of-order chunk drops the message with a warning. */
    private void configChunk(String peer, String path, FrameCodec.Frame f) {
        String key = peer + "/" + path;
        int index;
        int count;
        try {
            index = Integer.parseInt(f.field(1));
            count = Integer.parseInt(f.field(2));
        } catch (NumberFormatException e) {
            index = -1;
            count = -1;
        }
        Assembly a = assemblies.computeIfAbsent(key, k -> new Assembly());
        String problem = null;
        if (f.fields().size() != 4 || count < 1 || count > CONFIG_MAX_CHUNKS || index < 0 || index >= count) {
            problem = "malformed config frame (" + f.fields().size() + " fields, chunk " + f.field(1) + " of " + f.field(2) + ")";
        } else if (index == 0) {
            a.id = f.field(0);
            a.next = 0;
            a.count = count;
            a.text = new StringBuilder();
        } else if (a.text == null || !f.field(0).equals(a.id) || index != a.next || count != a.count) {
            problem = "config frame " + index + " of " + count + " out of sequence";
        }
        if (problem != null) {
            a.text = null;
            sink.event("WARNING", "channel: " + problem + " from " + peer + " on the " + path + " link: message refused");
            return;
        }
        a.text.append(f.field(3));
        a.next = index + 1;
        if (a.next == a.count) {
            String msg = a.text.toString();
            a.text = null;
            sink.config(peer, msg);
        }
    }

    /**
     * Sends a configuration message to one peer over the first connected path, in CONFIG frames.
     * Blocks the caller while writing (call it from the config sync thread, never the node's loop).
     */
    public boolean sendConfig(String peer, String message) {
        List<String> chunks = new ArrayList<>();
        for (int from = 0; from < message.length() || chunks.isEmpty(); ) {
            int to = Math.min(message.length(), from + CONFIG_CHUNK_CHARS);
            if (to < message.length() && Character.isHighSurrogate(message.charAt(to - 1))) {
                to--; // never split a surrogate pair (chunks stay valid UTF-8)
            }
            chunks.add(message.substring(from, to));
            from = to;
        }
        int n = chunks.size();
        if (n > CONFIG_MAX_CHUNKS) {
            throw new IllegalArgumentException("configuration message of " + message.length() + " chars is too large");
        }
        String id = Long.toString(configIds.incrementAndGet());
        for (PathSpec p : paths) {
            Conn c = conns.get(peer + "/" + p.path());
            if (c == null) {
                continue;
            }
            try {
                for (int i = 0; i < n; i++) {
                    c.send(FrameCodec.encode(FrameCodec.Type.CONFIG, List.of(id, Integer.toString(i),
                            Integer.toString(n), chunks.get(i))));
                }
                return true;
            } catch (IOException e) {
                closeQuietly(c.socket);
            }
        }
        return false;
    }

    /** null when equal; "warning: ..." for a patch difference; "refuse: ..." when major.minor differ. */
    static String compareVersions(String mine, String theirs) {
        String[] a = mine.split("\\.");
        String[] b = theirs.split("\\.");
        if (b.length < 2 || a.length < 2) {
            return "refuse: unreadable Tandem version '" + theirs + "'";
        }
        if (!a[0].equals(b[0]) || !a[1].equals(b[1])) {
            return "refuse: Tandem version " + theirs + " differs from " + mine + " in major.minor; the nodes cannot form HA";
        }
        if (!mine.equals(theirs)) {
            return "warning: runs Tandem " + theirs + ", this node " + mine + " (patch difference)";
        }
        return null;
    }

    private volatile List<String> health = List.of();

    /** Tells every peer this node's compare-mode path group results now, and again after every hello. */
    public void sendHealth(Map<String, Boolean> groups) {
        List<String> f = new ArrayList<>();
        groups.forEach((k, v) -> f.add(k + "=" + (v ? "up" : "down")));
        health = List.copyOf(f);
        byte[] frame = FrameCodec.encode(FrameCodec.Type.HEALTH, health);
        if (!outbox.offer(() -> broadcast(frame))) { // the next hello repeats it
            sink.event("WARNING", "channel: outbox full, path group results wait for the next hello");
        }
    }

    private List<String> hello() {
        List<String> f = new ArrayList<>(helloFields.get()); // node, role, state, priority, version, config, sessions, health
        while (f.size() < 8) {
            f.add("");
        }
        f.add(HexFormat.of().formatHex(heartbeatKey));
        return f;
    }

    private void helloLoop() {
        while (open) {
            sleep(helloIntervalMs);
            broadcast(FrameCodec.encode(FrameCodec.Type.HELLO, hello()));
            if (!health.isEmpty()) {
                broadcast(FrameCodec.encode(FrameCodec.Type.HEALTH, health));
            }
        }
    }

    private volatile int helloIntervalMs = 1000;

    public void helloInterval(int ms) {
        helloIntervalMs = ms;
    }

    /**
     * Tells every peer, on every path, that this node released the active role. Written by a sender
     * thread, never by the caller (the node's loop): a TCP write to a dead path can block.
     */
    public void sendRelease(String why) {
        byte[] frame = FrameCodec.encode(FrameCodec.Type.RELEASE, List.of(why));
        if (!outbox.offer(() -> broadcast(frame))) {
            sink.event("WARNING", "channel: outbox full, release not sent over the channel (priority 0 adverts still go)");
        }
    }

    private final java.util.concurrent.BlockingQueue<Runnable> outbox = new java.util.concurrent.ArrayBlockingQueue<>(64);

    private void sendLoop() {
        dev.tandem.linux.RealtimeScheduling.enterIfConfigured();
        while (open) {
            try {
                Runnable r = outbox.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (r != null) {
                    r.run();
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Sends an operator command to one peer over the first path that is connected. */
    public boolean sendCommand(String peer, Input.CommandKind kind, String who) {
        for (PathSpec p : paths) {
            Conn c = conns.get(peer + "/" + p.path());
            if (c != null) {
                try {
                    c.send(FrameCodec.encode(FrameCodec.Type.COMMAND, List.of(kind.name(), who)));
                    return true;
                } catch (IOException e) {
                    closeQuietly(c.socket);
                }
            }
        }
        return false;
    }

    private void broadcast(byte[] frame) {
        for (Conn c : conns.values()) {
            try {
                c.send(frame);
            } catch (IOException e) {
                closeQuietly(c.socket);
            }
        }
    }

    private void refuse(String path, String peer, Socket s, String why) {
        closeQuietly(s);
        if (!open) {
            return;
        }
        String key = (peer == null ? s.getInetAddress().getHostAddress() : peer) + "/" + path;
        String prev = refusals.put(key, why == null ? "closed" : why);
        if (!String.valueOf(why).equals(prev)) { // log each new reason once, not every retry
            sink.event("ALARM", "channel: " + path + " link" + (peer == null ? "" : " to " + peer) + " refused: " + why);
        }
    }

    /** Whether each peer/path connection is up: "fw2/control" -> true. */
    public Map<String, Boolean> pathStates() {
        Map<String, Boolean> m = new java.util.TreeMap<>();
        for (PathSpec p : paths) {
            for (String peer : p.peerAddresses().keySet()) {
                m.put(peer + "/" + p.path(), conns.containsKey(peer + "/" + p.path()));
            }
        }
        return m;
    }

    /** Sends a hello to every peer now (after a state change), off the caller's thread. */
    public void helloNow() {
        outbox.offer(() -> broadcast(FrameCodec.encode(FrameCodec.Type.HELLO, hello())));
    }

    /** Lines for `tandem status`: paths and the last hello of each peer. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (PathSpec p : paths) {
            for (String peer : p.peerAddresses().keySet()) {
                boolean up = conns.containsKey(peer + "/" + p.path());
                out.add(p.path() + " link to " + peer + " (" + p.peerAddresses().get(peer) + "): "
                        + (up ? "connected" + (tls != null ? ", mutual TLS 1.3" : ", PLAINTEXT") : "down")
                        + (refusals.containsKey(peer) ? " (refused: " + refusals.get(peer) + ")" : ""));
            }
        }
        for (Hello h : hellos.values()) {
            out.add("last hello from " + h.node() + " at " + h.at() + " on " + h.heardOn() + ": role " + h.role() + ", state "
                    + h.state() + ", priority " + h.priority() + ", version " + h.version() + ", config " + h.configVersion()
                    + ", sessions " + h.sessionSync() + ", health " + h.health());
        }
        return out;
    }

    public Map<String, Hello> hellos() {
        return Map.copyOf(hellos);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        open = false;
        for (ServerSocket s : servers) {
            try {
                s.close();
            } catch (IOException e) {
                // closing
            }
        }
        conns.values().forEach(c -> closeQuietly(c.socket));
    }

    static NodeState parseState(String s) {
        try {
            return NodeState.valueOf(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
