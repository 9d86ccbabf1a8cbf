package dev.tandem.lab;

import dev.tandem.linux.IcmpEcho;
import dev.tandem.linux.NativeException;
import java.net.InetAddress;
import java.util.concurrent.locks.LockSupport;

/**
 * Sends one numbered ICMP echo request every interval to the server until stdin closes (or the
 * duration ends); the server's kernel answers. Prints "flowing" once a first probe came back, then
 * streams without reading the echoes: the figures are taken off the client's interface with the
 * kernel's timestamps ({@link ProbeStream}), so a pause of this JVM cannot pass for an outage.
 */
public final class ProbeClient {
    private ProbeClient() {}

    public static void main(String[] args) throws Exception {
        byte[] server = InetAddress.getByName(args[0]).getAddress(); // a literal address: no lookup
        long intervalNanos = Long.parseLong(args[1]) * 1000L;
        long maxMs = args.length > 2 ? Long.parseLong(args[2]) : 600_000;
        // runs under chrt: every thread of this JVM is SCHED_FIFO above the daemons' failover path
        Thread stop = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                while (System.in.read() >= 0) {
                    // wait for EOF
                }
            } catch (Exception e) {
                // EOF or closed: stop
            }
        });
        try (IcmpEcho echo = IcmpEcho.open(server.length == 16, null)) {
            long start = System.nanoTime();
            long end = start + maxMs * 1_000_000L;
            boolean flowing = false;
            for (int i = 0; i < 100 && !flowing && stop.isAlive(); i++) {
                try {
                    flowing = echo.ping(server, 100) >= 0;
                } catch (NativeException e) {
                    LockSupport.parkNanos(100_000_000L); // no route yet
                }
            }
            if (!flowing) {
                System.out.println("no echo from " + args[0] + " in 100 tries");
                return;
            }
            System.out.println("flowing");
            System.out.flush();
            long seq = 0;
            long next = System.nanoTime();
            while (stop.isAlive() && System.nanoTime() < end) {
                try {
                    echo.send(server, seq);
                } catch (NativeException e) {
                    // no route during a failover: a lost probe
                }
                seq++;
                // after a late wake-up the missed slots are skipped, never sent in a burst
                next = Math.max(next + intervalNanos, System.nanoTime());
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
        }
    }
}
