package dev.tandem.node.daemon;

import dev.tandem.core.ha.Input;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The node's local control endpoint: a Unix socket (mode 0600, root only) taking one request line
 * per connection — "status", "status-json", "suspend WHO", "resume WHO", "demote WHO" — and
 * answering with text. The REST API of issue 7 replaces it for remote use.
 */
public final class ControlServer implements AutoCloseable {
    private static final int MAX_REQUEST = 512;

    private final Path path;
    private final NodeDaemon daemon;
    private final EventLog log;
    private ServerSocketChannel server;
    private Thread thread;
    private volatile boolean open;

    public ControlServer(Path path, NodeDaemon daemon, EventLog log) {
        this.path = path;
        this.daemon = daemon;
        this.log = log;
    }

    public void start() throws IOException {
        Files.createDirectories(path.getParent());
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        open = true;
        thread = Thread.ofPlatform().name("control-" + daemon.name()).daemon(true).start(this::serve);
    }

    private void serve() {
        while (open) {
            try (SocketChannel c = server.accept()) {
                String req = readLine(c);
                String answer = answer(req);
                c.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                if (open) {
                    log.record("WARNING", daemon.name() + " control socket: " + e.getMessage());
                }
            }
        }
    }

    private static String readLine(SocketChannel c) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(MAX_REQUEST);
        while (buf.hasRemaining()) {
            int n = c.read(buf);
            if (n < 0) {
                break;
            }
            byte[] a = buf.array();
            boolean nl = false;
            for (int i = 0; i < buf.position(); i++) {
                nl |= a[i] == '\n';
            }
            if (nl) {
                break;
            }
        }
        String s = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        int nl = s.indexOf('\n');
        return (nl >= 0 ? s.substring(0, nl) : s).trim();
    }

    String answer(String req) {
        String[] parts = req.split("\\s+", 2);
        String who = parts.length > 1 && !parts[1].isBlank() ? parts[1].trim() : "local operator";
        int at = parts[0].indexOf('@');
        if (at > 0 && !parts[0].substring(at + 1).equals(daemon.name())) {
            // "demote@fw2 alice": for a peer, over the channel
            String target = parts[0].substring(at + 1);
            Input.CommandKind k;
            try {
                k = Input.CommandKind.valueOf(parts[0].substring(0, at).toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                return "error: unknown request '" + req + "'\n";
            }
            return daemon.commandPeer(target, k, who + " on " + daemon.name())
                    ? "ok: " + k.name().toLowerCase() + " sent to " + target + " over the channel\n"
                    : "error: no channel to " + target + " is connected\n";
        }
        if (at > 0) {
            parts[0] = parts[0].substring(0, at);
        }
        try {
            return switch (parts[0]) {
                case "status" -> StatusReport.text(daemon.status(), daemon.role(), daemon.recentEvents(10))
                        + "  channel:\n" + String.join("", daemon.channelStatus().stream().map(l -> "    " + l + "\n").toList());
                case "status-json" -> daemon.statusJson() + "\n";
                case "suspend" -> command(Input.CommandKind.SUSPEND, who);
                case "resume" -> command(Input.CommandKind.RESUME, who);
                case "demote" -> command(Input.CommandKind.DEMOTE, who);
                case "config-commit", "config-apply", "config-history", "config-diff", "config-rollback", "sync-config" ->
                        config(parts[0], parts.length > 1 ? parts[1].trim() : "");
                default -> "error: unknown request '" + req + "' (status | status-json | suspend | resume | demote | "
                        + "config-commit | config-apply | config-history | config-diff | config-rollback | sync-config)\n";
            };
        } catch (dev.tandem.node.configsync.ConfigSync.Refused e) {
            return "error: " + e.getMessage() + "\n";
        } catch (Exception e) {
            return "error: " + e + "\n";
        }
    }

    /** Config sync requests; "who" is the last word-group after the arguments, separated by " | ". */
    private String config(String req, String args) throws Exception {
        var cs = daemon.configSync();
        if (cs == null) {
            return "error: configuration sync is off on " + daemon.name() + " (cluster.config_sync.enabled)\n";
        }
        int bar = args.indexOf(" | ");
        String who = bar >= 0 ? args.substring(bar + 3) : "local operator";
        String a = bar >= 0 ? args.substring(0, bar).trim() : args;
        String[] w = a.isEmpty() ? new String[0] : a.split("\\s+");
        String out = switch (req) {
            case "config-commit" -> cs.commit(who);
            case "config-apply" -> {
                if (w.length != 1) {
                    yield "error: config-apply FILE\n";
                }
                String text;
                try {
                    text = Files.readString(Path.of(w[0]), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    yield "error: cannot read " + w[0] + ": " + e.getMessage() + "\n";
                }
                yield cs.apply(text, who);
            }
            case "config-history" -> cs.history();
            case "config-diff" -> w.length != 2 ? "error: config-diff A B\n" : cs.diff(Long.parseLong(w[0]), Long.parseLong(w[1]));
            case "config-rollback" -> w.length != 1 ? "error: config-rollback VERSION\n" : cs.rollback(Long.parseLong(w[0]), who);
            default -> cs.forceSync(who);
        };
        if (out.startsWith("error:")) {
            return out;
        }
        return "ok: " + (out.endsWith("\n") ? out : out + "\n");
    }

    private String command(Input.CommandKind k, String who) {
        daemon.command(k, who);
        return "ok: " + k.name().toLowerCase() + " sent to " + daemon.name() + "\n";
    }

    /** Client side: sends one request to a node's socket and returns the answer. */
    public static String request(Path socket, String line) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            c.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            StringBuilder sb = new StringBuilder();
            while (c.read(buf) > 0) {
                buf.flip();
                sb.append(StandardCharsets.UTF_8.decode(buf));
                buf.clear();
            }
            return sb.toString();
        }
    }

    @Override
    public void close() {
        open = false;
        try {
            if (server != null) {
                server.close();
            }
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // closing: nothing left to do
        }
        if (thread != null) {
            try {
                thread.join(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
