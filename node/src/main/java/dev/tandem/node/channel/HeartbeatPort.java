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
import java.util.function.Function;

/** UDP heartbeats on one dedicated path: sent from the node's loop, read on a platform thread. */
public final class HeartbeatPort implements AutoCloseable {
    /** Takes an input with the time it happened (System.nanoTime() clock): here, the kernel's receive time. */
    @FunctionalInterface
    public interface TimedSink {
        void accept(Input input, long at);
    }

    private static final int MAX_DATAGRAM = 512;

    private final String self;
    private final String path;
    /** FFM, not a DatagramChannel: the kernel's receive time comes with each heartbeat (ReceiveTime). */
    private final dev.tandem.linux.UdpReceiver receiver;
    /**
     * Sending has its own non-blocking socket: a blocking send stalled the whole event loop once the
     * path's link lost carrier (datagrams wait for ARP, the send buffer fills, send() blocks).
     */
    private final DatagramChannel sender;
    private final List<InetSocketAddress> peers = new ArrayList<>();
    private final Map<String, String> peerAddresses;
    private final Map<String, byte[]> peerBytes = new java.util.HashMap<>();
    private final Function<String, byte[]> keys;
    private final TimedSink sink;
    private final byte[] myKey;
    private final AtomicLong rejected = new AtomicLong();
    private final HeartbeatReplayGuard replays = new HeartbeatReplayGuard();
    private long seq;
    private Thread reader;

    public HeartbeatPort(String self, PeerChannel.PathSpec spec, int port, byte[] myKey, Function<String, byte[]> keys,
                         TimedSink sink) throws IOException {
        this.self = self;
        this.path = spec.path();
        this.myKey = myKey;
        this.keys = keys;
        this.sink = sink;
        this.peerAddresses = spec.peerAddresses();
        try {
            this.receiver = dev.tandem.linux.UdpReceiver.bind(address(spec.localAddress()).getAddress(), port, MAX_DATAGRAM);
        } catch (RuntimeException e) { // NativeException (address in use, not local), bad arguments
            throw new IOException("heartbeat port " + spec.localAddress() + ":" + port + ": " + e.getMessage(), e);
        }
        sender = DatagramChannel.open();
        sender.bind(new InetSocketAddress(address(spec.localAddress()), 0));
        sender.configureBlocking(false);
        for (Map.Entry<String, String> e : spec.peerAddresses().entrySet()) {
            peers.add(new InetSocketAddress(address(e.getValue()), port));
            peerBytes.put(e.getKey(), address(e.getValue()).getAddress());
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
        byte[] p = new byte[MAX_DATAGRAM];
        while (true) {
            dev.tandem.linux.UdpReceiver.Datagram d;
            try {
                d = receiver.receive(p);
            } catch (RuntimeException e) { // a receive error (NativeException) is not the peer's silence: go on
                try {
                    Thread.sleep(10); // bounded: a persistent error must not spin this real-time thread
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            if (d == null) {
                return; // closed
            }
            int len = d.length();
            String sender = d.truncated() ? null : HeartbeatCodec.sender(p, len);
            byte[] key = sender == null ? null : keys.apply(sender);
            HeartbeatCodec.Heartbeat h = key == null ? null : HeartbeatCodec.decode(p, len, key);
            if (h == null || !peerAddresses.containsKey(h.node()) || !fromPeer(d.source(), h.node())
                    || !replays.accept(h.node(), key, h.seq())) {
                rejected.incrementAndGet(); // unknown sender, no key yet, bad MAC, wrong address or a replay
                continue;
            }
            sink.accept(new Input.Heartbeat(h.node(), path, h.state(), h.priority()), d.arrivedAt());
        }
    }

    private boolean fromPeer(byte[] source, String node) {
        byte[] a = peerBytes.get(node);
        return a != null && java.util.Arrays.equals(a, source);
    }

    public long rejected() {
        return rejected.get();
    }

    @Override
    public void close() {
        try {
            sender.close();
        } catch (IOException e) {
            // closing
        }
        receiver.close(); // wakes the reader
        if (reader != null) {
            try {
                reader.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
