package dev.tandem.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** Two namespaces joined by a veth (eth0 on each side): 10.99.0.1/24 + fd99::1/64 and .2 / ::2. */
final class TwoHosts implements AutoCloseable {
    final String a;
    final String b;

    TwoHosts() {
        String p = "tlx" + Integer.toHexString(0x1000 + new Random().nextInt(0xefff));
        a = p + "-a";
        b = p + "-b";
        sh("ip", "netns", "add", a);
        sh("ip", "netns", "add", b);
        for (String ns : List.of(a, b)) {
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.default.accept_dad=0");
            sh("ip", "-n", ns, "link", "set", "lo", "up");
        }
        sh("ip", "link", "add", p + "x", "netns", a, "type", "veth", "peer", "name", p + "y", "netns", b);
        sh("ip", "-n", a, "link", "set", p + "x", "name", "eth0");
        sh("ip", "-n", b, "link", "set", p + "y", "name", "eth0");
        sh("ip", "-n", a, "addr", "add", "10.99.0.1/24", "dev", "eth0");
        sh("ip", "-n", b, "addr", "add", "10.99.0.2/24", "dev", "eth0");
        sh("ip", "-n", a, "addr", "add", "fd99::1/64", "dev", "eth0");
        sh("ip", "-n", b, "addr", "add", "fd99::2/64", "dev", "eth0");
        sh("ip", "-n", a, "link", "set", "eth0", "up");
        sh("ip", "-n", b, "link", "set", "eth0", "up");
        // the kernel adds the IPv6 link-local a moment after carrier comes up
        for (String ns : List.of(a, b)) {
            for (int i = 0; i < 100 && !sh("ip", "-n", ns, "-6", "addr", "show", "dev", "eth0").contains("fe80::"); i++) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    static String sh(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The link-local address of eth0 in ns, as bytes (read with our own rtnetlink). */
    static byte[] linkLocal(String ns) {
        return Netns.callIn(ns, () -> {
            try (Rtnetlink r = Rtnetlink.open()) {
                for (Rtnetlink.InterfaceAddress x : r.addresses(r.link("eth0").index())) {
                    if (x.address().length == 16 && (x.address()[0] & 0xff) == 0xfe) {
                        return x.address();
                    }
                }
            }
            throw new IllegalStateException("no link-local address in " + ns);
        });
    }

    @Override
    public void close() {
        for (String ns : List.of(a, b)) {
            try {
                new ProcessBuilder("ip", "netns", "del", ns).start().waitFor(10, TimeUnit.SECONDS);
            } catch (IOException e) {
                // best effort
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
