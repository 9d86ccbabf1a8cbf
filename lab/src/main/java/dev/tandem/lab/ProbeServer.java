package dev.tandem.lab;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

/** UDP echo server for the probe stream (runs in the lab's server namespace; dual-stack). */
public final class ProbeServer {
    private ProbeServer() {}

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : ProbeStream.PORT;
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress(port)); // wildcard, IPv4-mapped too
            ByteBuffer buf = ByteBuffer.allocate(64);
            System.out.println("listening on " + port);
            System.out.flush();
            // the instrument must not stall on a busy machine: SCHED_FIFO above the daemons' failover path
            dev.tandem.linux.RealtimeScheduling.applyToCurrentThread(ProbeStream.REALTIME_PRIORITY);
            while (true) {
                buf.clear();
                SocketAddress from = ch.receive(buf);
                buf.flip();
                ch.send(buf, from);
            }
        }
    }
}
