package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LinkEventReaderTest {
    private static TwoHosts hosts;

    @BeforeAll
    static void up() {
        hosts = new TwoHosts();
    }

    @AfterAll
    static void down() {
        hosts.close();
    }

    private static void veth(String ns, String name, String peer) {
        TwoHosts.sh("ip", "-n", ns, "link", "add", name, "type", "veth", "peer", "name", peer);
    }

    private static Set<String> linkNames(String ns) {
        return Netns.callIn(ns, () -> {
            try (Rtnetlink r = Rtnetlink.open()) {
                return r.links().stream().map(Rtnetlink.Link::name).collect(Collectors.toSet());
            }
        });
    }

    @Test
    void anOverrunIsAnsweredWithADumpOfTheReadersOwnNamespace() throws Exception {
        String ns = hosts.b;
        veth(ns, "tlxmark0", "tlxmark1"); // untouched below: only a re-dump reports it
        veth(ns, "tlxbrst0", "tlxbrst1");
        Set<String> names = linkNames(ns);
        LinkedBlockingQueue<LinkEventReader.LinkEvent> events = new LinkedBlockingQueue<>();
        // smallest receive buffer: a burst overruns it before the reader runs
        LinkEventReader reader = Netns.callIn(ns, () -> new LinkEventReader(events::add, 1));
        Path batch = Files.createTempFile("tlx-batch", ".ip");
        try {
            Files.writeString(batch, "link set tlxbrst0 up\nlink set tlxbrst0 down\n".repeat(20));
            TwoHosts.sh("ip", "-n", ns, "-batch", batch.toString());
            reader.start(); // from this (root namespace) thread, as the daemon may
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            boolean marked = false;
            while (!marked && System.nanoTime() < deadline) {
                LinkEventReader.LinkEvent e = events.poll(100, TimeUnit.MILLISECONDS);
                if (e != null) {
                    assertThat(names).as("link %s reported from the reader's namespace", e).contains(e.name());
                    marked = e.name().equals("tlxmark0");
                }
            }
            assertThat(reader.overruns()).as("the burst overran the socket").isPositive();
            assertThat(marked).as("the re-dump reported the untouched link").isTrue();
            for (LinkEventReader.LinkEvent e : events) {
                assertThat(names).as("link %s reported from the reader's namespace", e).contains(e.name());
            }
        } finally {
            reader.close();
            Files.deleteIfExists(batch);
            TwoHosts.sh("ip", "-n", ns, "link", "del", "tlxmark0");
            TwoHosts.sh("ip", "-n", ns, "link", "del", "tlxbrst0");
        }
    }

    @Test
    void aThrowingConsumerDoesNotEndTheReader() throws Exception {
        String ns = hosts.b;
        veth(ns, "tlxthrw0", "tlxthrw1");
        LinkedBlockingQueue<LinkEventReader.LinkEvent> events = new LinkedBlockingQueue<>();
        AtomicInteger calls = new AtomicInteger();
        LinkEventReader reader = Netns.callIn(ns, () -> new LinkEventReader(e -> {
            if (calls.getAndIncrement() == 0) {
                throw new IllegalStateException("test: the consumer fails once");
            }
            events.add(e);
        }));
        reader.start();
        try {
            Thread.sleep(100);
            TwoHosts.sh("ip", "-n", ns, "link", "set", "tlxthrw0", "up"); // the first event: the consumer throws
            TwoHosts.sh("ip", "-n", ns, "link", "set", "tlxthrw1", "up"); // carrier on both ends
            LinkEventReader.LinkEvent e;
            do {
                e = events.poll(3, TimeUnit.SECONDS);
                assertThat(e).as("the link-up event").isNotNull();
            } while (!(e.name().equals("tlxthrw0") && e.up()));
            assertThat(calls.get()).isGreaterThan(1);
        } finally {
            reader.close();
            TwoHosts.sh("ip", "-n", ns, "link", "del", "tlxthrw0");
        }
    }
}
