package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.tandem.lab.Cmd;
import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.TandemPair;
import dev.tandem.linux.Netns;
import dev.tandem.node.daemon.ControlServer;
import dev.tandem.node.events.Event;
import dev.tandem.node.events.EventPage;
import dev.tandem.node.events.EventQuery;
import dev.tandem.node.events.EventStore;
import dev.tandem.node.events.Retention;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Events into the node's SQLite database (kept across restarts), alerts to a webhook and a
 * keepalived-style notify script on real transitions, and a webhook that hangs never holding up
 * the HA loop.
 */
class OperatorOutputsIT {
    private static LabTopology lab;

    @BeforeAll
    static void up() {
        lab = LabFixture.uniqueLab();
        lab.up(LabConfig.of("default"));
    }

    @AfterAll
    static void down() {
        if (lab != null) {
            lab.down();
        }
    }

    private String status(String fw) {
        return LabFixture.status(lab, fw);
    }

    private static void awaitTrue(String what, int seconds, java.util.function.BooleanSupplier c) {
        dev.tandem.node.it.Netns.await(what, Duration.ofSeconds(seconds), c);
    }

    @Test
    void transitionsAreStoredAlertedAndASlowWebhookNeverDelaysTheLoop() throws Exception {
        FailoverScenario.reset(lab);
        Path notify = lab.runDir().resolve("notify.sh");
        Path notified = lab.runDir().resolve("notified.txt");
        Files.deleteIfExists(notified);
        Files.writeString(notify, "#!/bin/sh\necho \"$@\" >> " + notified + "\n");
        Files.setPosixFilePermissions(notify, PosixFilePermissions.fromString("rwxr-xr-x"));
        // the webhook receiver lives in fw1's namespace (127.0.0.1 there); it answers the first call
        // only after 5 s: a loop that waited for it would miss ~15 adverts and fw2 would take over
        List<String> bodies = new CopyOnWriteArrayList<>();
        HttpServer hook = Netns.callIn(lab.ns("fw1"), () -> HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8));
        hook.createContext("/hook", ex -> {
            bodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            if (bodies.size() == 1) {
                Cmd.sleep(5000);
            }
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        hook.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(2));
        hook.start();
        try {
            String cfg = Files.readString(lab.configFile()).replace("operator: {state_dir: " + lab.runDir() + "/state}",
                    "operator:\n  state_dir: " + lab.runDir() + "/state\n  alerts:\n    webhooks: [{url: 'http://127.0.0.1:"
                            + hook.getAddress().getPort() + "/hook', timeout_ms: 10000}]\n    notify_script: " + notify + "\n");
            assertThat(cfg).contains("notify_script");
            lab.writeConfigText(cfg);
            try (TandemPair pair = new TandemPair(lab)) {
                pair.start("fw1");
                awaitTrue("fw1 active", 15, () -> lab.active().equals("fw1"));
                long t0 = System.nanoTime();
                awaitTrue("the slow webhook got its first alert", 5, () -> !bodies.isEmpty());
                awaitTrue("the webhook got fw1's MASTER alert", 10, () -> bodies.stream().anyMatch(
                        b -> b.contains("\"node\":\"fw1\"") && b.contains("\"state\":\"MASTER\"")));
                pair.start("fw2");
                awaitTrue("fw2 passive", 15, () -> status("fw2").contains("\"state\":\"PASSIVE\""));
                // while the webhook still holds its first call, fw1 keeps the role: its loop runs on
                while (System.nanoTime() - t0 < 4_000_000_000L) {
                    assertThat(lab.active()).as(pair.log("fw2")).isEqualTo("fw1");
                    Cmd.sleep(100);
                }
                LabFixture.awaitFw2ReadyToTakeOver(lab);
                assertThat(ControlServer.request(lab.runDir().resolve("fw1.sock"), "demote alice")).startsWith("ok");
                dev.tandem.node.it.Netns.await("fw2 active", Duration.ofSeconds(5), () -> lab.active().equals("fw2"),
                        () -> "active: " + lab.active() + "\nfw1:\n" + pair.log("fw1") + "\nfw2:\n" + pair.log("fw2"));
                awaitTrue("notify script ran for both nodes' transitions", 10, () -> {
                    try {
                        String n = Files.exists(notified) ? Files.readString(notified) : "";
                        return n.contains("GROUP vg1 MASTER 250") && n.contains("GROUP vg1 BACKUP 250")
                                && n.contains("GROUP vg1 MASTER 200");
                    } catch (java.io.IOException e) {
                        return false;
                    }
                });
                awaitTrue("fw2's webhook failure (nothing listens in its namespace) is an event", 30,
                        () -> pair.log("fw2").contains("alert not delivered"));
                pair.stopGracefully("fw1");
                pair.start("fw1");
                awaitTrue("fw1 back as PASSIVE", 15, () -> status("fw1").contains("\"state\":\"PASSIVE\""));
                pair.stopGracefully("fw1");
            }
        } finally {
            hook.stop(0);
            ((java.util.concurrent.ExecutorService) hook.getExecutor()).shutdownNow();
            lab.writeConfig(LabConfig.of("default"));
        }
        // both runs of fw1 in its database: the history survives a restart
        try (EventStore store = EventStore.open(lab.runDir().resolve("state/fw1-events.db"), Retention.DEFAULT)) {
            EventPage all = store.query(EventQuery.newest(1000));
            List<String> texts = all.events().stream().map(Event::text).toList();
            assertThat(texts.stream().filter(t -> t.contains("fw1 starting with priority 250")).count()).isEqualTo(2);
            assertThat(texts).anyMatch(t -> t.contains("fw1 INITIAL -> ACTIVE"));
            assertThat(all.events()).anyMatch(e -> e.kind().equals("COMMAND") && "alice".equals(e.actor())
                    && e.text().equals("demote requested by alice"));
            EventPage transitions = store.query(EventQuery.newest(2).withKind("TRANSITION"));
            assertThat(transitions.events()).hasSize(2).allMatch(e -> e.node().equals("fw1"));
            assertThat(transitions.nextCursor()).isNotNull();
        }
    }
}
