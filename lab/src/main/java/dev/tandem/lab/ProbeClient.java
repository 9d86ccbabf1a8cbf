package dev.tandem.lab;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * Sends one UDP probe every interval to the echo server and records the arrival of each reply.
 * Prints "flowing" at the first reply; when stdin closes (or the duration ends) prints one JSON
 * line: sent, received, lost, and the longest gap between consecutive replies (the outage).
 */
public final class ProbeClient {
    private ProbeClient() {}

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        long intervalNanos = Long.parseLong(args[2]) * 1000L;
        long maxMs = args.length > 3 ? Long.parseLong(args[3]) : 600_000;
        DatagramChannel ch = DatagramChannel.open();
        ch.connect(new InetSocketAddress(host, port)); // a literal address: no lookup
        long start = System.nanoTime();
        long[] stats = new long[6]; // received, lastArrival, maxGap, gapEndAt, sent, lastSeq
        // the instrument must not stall on a busy machine: SCHED_FIFO above the daemons' failover path
        dev.tandem.linux.RealtimeScheduling.applyToCurrentThread(ProbeStream.REALTIME_PRIORITY);
        Thread rx = Thread.ofPlatform().daemon(true).start(() -> {
            dev.tandem.linux.RealtimeScheduling.applyToCurrentThread(ProbeStream.REALTIME_PRIORITY);
            ByteBuffer b = ByteBuffer.allocate(64);
            boolean announced = false;
            while (ch.isOpen()) {
                try {
                    b.clear();
                    ch.read(b);
                } catch (Exception e) {
                    continue; // ICMP errors while no route (failover): keep going
                }
                long now = System.nanoTime();
                synchronized (stats) {
                    if (stats[0] > 0) {
                        long gap = now - stats[1];
                        if (gap > stats[2]) {
                            stats[2] = gap;
                            stats[3] = now - start;
                        }
                    }
                    stats[0]++;
                    stats[1] = now;
                }
                if (!announced) {
                    announced = true;
                    System.out.println("flowing");
                    System.out.flush();
                }
            }
        });
        Thread stop = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                while (System.in.read() >= 0) {
                    // wait for EOF
                }
            } catch (Exception e) {
                // EOF or closed: stop
            }
        });
        ByteBuffer out = ByteBuffer.allocate(16);
        long seq = 0;
        long end = start + maxMs * 1_000_000L;
        while (stop.isAlive() && System.nanoTime() < end) {
            out.clear();
            out.putLong(seq).putLong(System.nanoTime());
            out.flip();
            try {
                ch.write(out);
            } catch (Exception e) {
                // unreachable during a failover: count it as sent and lost
            }
            seq++;
            long next = start + seq * intervalNanos;
            long wait = next - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
        }
        Thread.sleep(50); // the last replies in flight
        synchronized (stats) {
            long received = stats[0];
            System.out.println(String.format(Locale.ROOT,
                    "{\"sent\":%d,\"received\":%d,\"lost\":%d,\"max_gap_ms\":%.3f,\"gap_end_ms\":%.1f}",
                    seq, received, Math.max(0, seq - received), stats[2] / 1e6, stats[3] / 1e6));
        }
        System.out.flush();
        ch.close();
        rx.interrupt();
    }
}
