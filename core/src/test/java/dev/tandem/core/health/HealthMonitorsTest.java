package dev.tandem.core.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HealthMonitorsTest {
    static final long MS = 1_000_000L;

    @Test
    void pathGroupAllFailsOnlyWhenEveryDestinationIsDown() {
        HealthMonitors h = new HealthMonitors(HealthSpec.none().withMonitors(List.of(new MonitorSpec.PathGroup(
                "dns", List.of("192.0.2.1", "192.0.2.2"), 2, true, false, MonitorSpec.Effect.weight(10)))));
        h.start(0, Set.of());
        h.onProbe(0, "dns", "192.0.2.1", false, "");
        assertThat(h.onProbe(1, "dns", "192.0.2.1", false, "")).isEmpty();
        assertThat(h.evaluate(2, false, p -> true).penalty()).isZero();
        h.onProbe(3, "dns", "192.0.2.2", false, "");
        assertThat(h.onProbe(4, "dns", "192.0.2.2", false, "timeout")).containsExactly(
                "path group 'dns' down (2 of 2 probes to 192.0.2.1, 192.0.2.2 failed)");
        assertThat(h.evaluate(5, false, p -> true).penalty()).isEqualTo(10);
        assertThat(h.onProbe(6, "dns", "192.0.2.2", true, "")).containsExactly("path group 'dns' up (192.0.2.2 answers)");
        assertThat(h.evaluate(7, false, p -> true).penalty()).isZero();
        assertThat(h.onProbe(8, "nope", "192.0.2.2", false, "")).as("unknown group ignored").isEmpty();
    }

    @Test
    void serviceCheckNeedsFallFailuresAndRiseSuccesses() {
        HealthMonitors h = new HealthMonitors(HealthSpec.none().withMonitors(List.of(
                new MonitorSpec.ServiceCheck("web", 3, 2, MonitorSpec.Effect.toFault()))));
        h.start(0, Set.of());
        h.onCheck(0, "web", false, "");
        h.onCheck(1, "web", false, "");
        h.onCheck(2, "web", true, "");
        h.onCheck(3, "web", false, "");
        h.onCheck(4, "web", false, "");
        assertThat(h.evaluate(5, false, p -> true).faults()).isEmpty();
        h.onCheck(6, "web", false, "exit 3");
        assertThat(h.evaluate(7, false, p -> true).faultText()).isEqualTo("service check 'web' down (3 failures in a row: exit 3)");
        h.onCheck(8, "web", true, "");
        h.onCheck(9, "web", false, "");
        h.onCheck(10, "web", true, "");
        assertThat(h.evaluate(11, false, p -> true).faults()).as("rise 2 not reached in a row").hasSize(1);
        h.onCheck(12, "web", true, "");
        assertThat(h.evaluate(13, false, p -> true).faults()).isEmpty();
    }

    @Test
    void holdUpDelaysCountingAndAdditionalHoldAppliesToTheActive() {
        HealthMonitors h = new HealthMonitors(HealthSpec.none().withHolds(100, 50, 0).withMonitors(List.of(
                new MonitorSpec.LinkGroup("l", List.of("eth1"), false, MonitorSpec.Effect.toFault()))));
        h.start(0, Set.of());
        h.onLink(0, "eth1", false);
        assertThat(h.evaluate(99 * MS, false, p -> true).faults()).isEmpty();
        assertThat(h.evaluate(99 * MS, false, p -> true).nextChangeAt()).isEqualTo(100 * MS);
        assertThat(h.evaluate(100 * MS, false, p -> true).faults()).hasSize(1);
        assertThat(h.evaluate(149 * MS, true, p -> true).faults()).isEmpty();
        assertThat(h.evaluate(150 * MS, true, p -> true).faultText())
                .endsWith("after monitor fail hold up 100 ms + additional master hold up 50 ms");
    }

    @Test
    void compareIgnoresDeadPeersAndUnknownGroups() {
        HealthMonitors h = new HealthMonitors(HealthSpec.none().withMonitors(List.of(new MonitorSpec.PathGroup(
                "isp", List.of("192.0.2.1"), 1, false, true, MonitorSpec.Effect.toFault()))));
        h.start(0, Set.of());
        h.onPeerReport("fw2", Map.of("isp", true, "bogus", true));
        h.onProbe(0, "isp", "192.0.2.1", false, "");
        assertThat(h.evaluate(1, false, p -> false).held().get("isp")).contains("no live peer to compare with");
        assertThat(h.evaluate(1, false, p -> true).faultText()).contains("fw2 reaches it");
        assertThat(h.compareReport()).isEqualTo(Map.of("isp", false));
    }
}
