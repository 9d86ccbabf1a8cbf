package dev.tandem.node.channel;

import dev.tandem.core.ha.Input;
import dev.tandem.core.ha.NodeState;
import dev.tandem.core.net.IpAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/** UDP heartbeats on one dedicated path: sent from the node's loop, read on a platform thread. */
public final class HeartbeatPort implements AutoCloseable {
    private final String self;
    private final String path;
    private final DatagramChannel channel;
    /**
     * Sending has its own non-blocking socket: a blocking send stalled the whole event loop once the
     * path's link lost carrier (datagrams wait for ARP, the send buffer fills, send() blocks).
     */
    private final DatagramChannel sender;
    private final List<InetSocketAddress> peers = new ArrayList<>();
    private final Map<String, String> peerAddresses;
    private final Function<String, byte[]> keys;
    private final Consumer<Input> sink;
    private final byte[] myKey;
    private final AtomicLong rejected = new AtomicLong();
    private long seq;
    private Thread reader;

    public HeartbeatPort(String self, PeerChannel.PathSpec spec, int port, byte[] myKey, Function<String, byte[]> keys,
                         Consumer<Input> sink) throws IOException {
        this.self = self;
        this.path = spec.path();
        this.myKey = myKey;
        this.keys = keys;
        this.sink = sink;
        this.peerAddresses = spec.peerAddresses();
        this.channel = DatagramChannel.open();
        channel.bind(new InetSocketAddress(address(spec.localAddress()), port));
        sender = DatagramChannel.open();
        sender.bind(new InetSocketAddress(address(spec.localAddress()), 0));
        sender.configureBlocking(false);
        for (String a : spec.peerAddresses().values()) {
            peers.add(new InetSocketAddress(address(a), port));
        }
    }

    private static InetAddress address(String ip) throws IOException {
        IpAddress a = IpAddress.tryParse(ip);
        if (a == null) {
            throw new IOException("'" + ip + "' is not an address");
        }
        return InetAddress.getByAddress(a.bytes());
    }

    public void start() {
        reader = Thread.ofPlatform().daemon(true).name("heartbeats-" + path).start(this::read);
    }

    /** Called on the loop thread. Failures (peer unreachable) are normal during faults: ignored. */
    public void send(NodeState state, int priority) {
        byte[] b = HeartbeatCodec.encode(new HeartbeatCodec.Heartbeat(self, state, priority, seq++), myKey);
        for (InetSocketAddress p : peers) {
            try {
                sender.send(ByteBuffer.wrap(b), p); // 0 when the buffer is full: that heartbeat is lost
            } catch (IOException e) {
                // the path is down; its silence is what the peer measures
            }
        }
    }

    private void read() {
        dev.tandem.linux.RealtimeScheduling.enterIfConfigured();
        ByteBuffer buf = ByteBuffer.allocate(512);
        while (channel.isOpen()) {
            try {
                buf.clear();
                java.net.SocketAddress from = channel.receive(buf);
                byte[] p = buf.array();
                int len = buf.position();
                String sender = HeartbeatCodec.sender(p, len);
                HeartbeatCodec.Heartbeat h = sender == null ? null : HeartbeatCodec.decode(p, len, keys.apply(sender));
                if (h == null || !peerAddresses.containsKey(h.node())
                        || !(from instanceof InetSocketAddress isa)
                        || !isa.getAddress().equals(address(peerAddresses.get(h.node())))) {
                    rejected.incrementAndGet(); // unknown sender, no key yet, bad MAC or wrong address
                    continue;
                }
                sink.accept(new Input.Heartbeat(h.node(), path, h.state(), h.priority()));
            } catch (IOException e) {
                if (!channel.isOpen()) {
                    return;
                }
            }
        }
    }

    public long rejected() {
        return rejected.get();
    }

    @Override
    public void close() {
        try {
            sender.close();
            channel.close();
        } catch (IOException e) {
            // closing
        }
        if (reader != null) {
            try {
                reader.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
