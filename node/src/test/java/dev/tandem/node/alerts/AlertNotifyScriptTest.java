package dev.tandem.node.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AlertNotifyScriptTest {

    @TempDir
    Path dir;

    private Path script(String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void runsTheScriptWithKeepalivedsArguments() throws Exception {
        Path out = dir.resolve("args.txt");
        Path s = script("notify.sh", "printf '%s|' \"$@\" > '" + out + "'\necho \"$TANDEM_NODE\" >> '" + out + "'\n");
        List<DeliveryFailure> failures = new CopyOnWriteArrayList<>();
        try (AlertDispatcher d = AlertDispatcher.builder().sink(new NotifyScriptSink(s, Duration.ofSeconds(5)), RetryPolicy.ONCE)
                .onFailure(failures::add).build()) {
            d.dispatch(AlertDispatcherTest.alert("MASTER"));
        } // close waits for delivery
        assertThat(failures).isEmpty();
        assertThat(Files.readString(out)).isEqualTo("INSTANCE|VG1|MASTER|100|fw1\n");
    }

    @Test
    void aHangingScriptIsKilledAfterTheTimeout() throws Exception {
        Path pids = dir.resolve("pids");
        Path s = script("hang.sh", "sleep 30 &\necho $$ $! > '" + pids + "'\nwait\n");
        List<DeliveryFailure> failures = new CopyOnWriteArrayList<>();
        CountDownLatch failed = new CountDownLatch(1);
        long start = System.nanoTime();
        try (AlertDispatcher d = AlertDispatcher.builder().sink(new NotifyScriptSink(s, Duration.ofMillis(500)), RetryPolicy.ONCE)
                .onFailure(f -> { failures.add(f); failed.countDown(); }).build()) {
            d.dispatch(AlertDispatcherTest.alert("FAULT"));
            assertThat(failed.await(5, TimeUnit.SECONDS)).isTrue();
        }
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(tookMs).isBetween(400L, 4000L);
        assertThat(failures.getFirst().reason()).contains("killed", "500 ms");
        String[] ids = Files.readString(pids).trim().split(" ");
        for (String id : ids) {
            Optional<ProcessHandle> h = ProcessHandle.of(Long.parseLong(id));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (h.map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < until) Thread.sleep(10);
            assertThat(h.map(ProcessHandle::isAlive).orElse(false)).as("process %s still alive", id).isFalse();
        }
    }

    @Test
    void aFailingOrMissingScriptIsReported() throws Exception {
        Path s = script("fail.sh", "exit 3\n");
        Path missing = dir.resolve("missing.sh");
        List<DeliveryFailure> failures = new CopyOnWriteArrayList<>();
        try (AlertDispatcher d = AlertDispatcher.builder()
                .sink(new NotifyScriptSink(s, Duration.ofSeconds(5)), RetryPolicy.ONCE)
                .sink(new NotifyScriptSink(missing, Duration.ofSeconds(5)), RetryPolicy.ONCE)
                .onFailure(failures::add).build()) {
            d.dispatch(AlertDispatcherTest.alert("STOP"));
        }
        assertThat(failures).extracting(DeliveryFailure::reason)
                .anySatisfy(r -> assertThat(r).contains("exited with status 3"))
                .anySatisfy(r -> assertThat(r).contains("missing.sh does not exist"));
    }
}
