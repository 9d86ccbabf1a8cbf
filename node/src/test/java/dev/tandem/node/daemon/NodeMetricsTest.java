package dev.tandem.node.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.ha.NodeState;
import org.junit.jupiter.api.Test;

class NodeMetricsTest {
    @Test
    void transitionsAndTakeoversWrittenByTheLoopAppearAtTheNextScrape() {
        NodeMetrics m = new NodeMetrics("fw2");
        m.transition(NodeState.PASSIVE);
        m.transition(NodeState.ACTIVE);
        m.transition(NodeState.ACTIVE);
        m.takeover(3_000_000L);
        m.takeover(5_000_000L);
        String text = m.render();
        assertThat(text).contains("tandem_transitions_total{node=\"fw2\",to=\"ACTIVE\"} 2.0")
                .contains("tandem_transitions_total{node=\"fw2\",to=\"PASSIVE\"} 1.0")
                .contains("tandem_takeover_seconds_count{node=\"fw2\"} 2")
                .contains("tandem_takeover_seconds_max{node=\"fw2\"} 0.005")
                .contains("tandem_takeover_unrecorded_total{node=\"fw2\"} 0.0");
        // read once: a second scrape records nothing again
        assertThat(m.render()).contains("tandem_takeover_seconds_count{node=\"fw2\"} 2");
    }

    @Test
    void takeoversBeyondTheRingBetweenTwoScrapesAreCountedAsUnrecorded() {
        NodeMetrics m = new NodeMetrics("fw1");
        for (int i = 0; i < 70; i++) {
            m.takeover(1_000_000L + i);
        }
        String text = m.render();
        assertThat(text).contains("tandem_takeover_seconds_count{node=\"fw1\"} 64")
                .contains("tandem_takeover_unrecorded_total{node=\"fw1\"} 6.0");
        m.takeover(2_000_000L);
        assertThat(m.render()).contains("tandem_takeover_seconds_count{node=\"fw1\"} 65");
    }
}
