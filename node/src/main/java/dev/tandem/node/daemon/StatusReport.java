package dev.tandem.node.daemon;

import dev.tandem.core.ha.HaEvent;
import dev.tandem.core.ha.NodeStatus;
import java.util.List;
import java.util.Map;

/** Renders a node's status as JSON (for scripts) or as a human table. */
public final class StatusReport {
    private StatusReport() {}

    public static String json(NodeStatus s, String role, List<String> events, long droppedInputs) {
        return json(s, role, events, droppedInputs, List.of());
    }

    public static String json(NodeStatus s, String role, List<String> events, long droppedInputs, List<String> channel) {
        StringBuilder b = new StringBuilder();
        b.append("{\"node\":").append(q(s.node())).append(",\"role\":").append(q(role))
                .append(",\"state\":").append(q(s.state().name()))
                .append(",\"priority\":").append(s.priority()).append(",\"effective_priority\":")
                .append(s.effectivePriority()).append(",\"dropped_inputs\":").append(droppedInputs)
                .append(",\"instances\":[");
        for (int i = 0; i < s.instances().size(); i++) {
            NodeStatus.InstanceStatus x = s.instances().get(i);
            b.append(i == 0 ? "" : ",").append("{\"instance\":").append(q(x.label())).append(",\"vrid\":").append(x.vrid())
                    .append(",\"role\":").append(q(x.role())).append(",\"master\":").append(q(x.master()))
                    .append(",\"master_priority\":").append(x.masterPriority()).append(",\"adverts_sent\":")
                    .append(x.advertsSent()).append(",\"adverts_received\":").append(x.advertsReceived())
                    .append(",\"rejected\":").append(x.rejected()).append('}');
        }
        b.append("],\"suspended_by\":").append(q(s.suspendedBy())).append(",\"flap_count\":").append(s.flapCount())
                .append(",\"advert_silence_ms\":").append(s.advertSilenceMicros() < 0 ? "null"
                        : String.format(java.util.Locale.ROOT, "%.1f", s.advertSilenceMicros() / 1000.0))
                .append(",\"monitors\":[");
        for (int i = 0; i < s.monitors().size(); i++) {
            var m = s.monitors().get(i);
            b.append(i == 0 ? "" : ",").append("{\"name\":").append(q(m.name())).append(",\"monitor\":")
                    .append(q(m.label())).append(",\"effect\":").append(q(m.effect())).append(",\"up\":")
                    .append(m.up()).append(",\"detail\":").append(q(m.detail())).append('}');
        }
        b.append("],\"rejected_by_reason\":{");
        int k = 0;
        for (Map.Entry<String, Long> e : s.rejectedByReason().entrySet()) {
            b.append(k++ == 0 ? "" : ",").append(q(e.getKey())).append(':').append(e.getValue());
        }
        b.append("},\"transitions\":[");
        for (int i = 0; i < s.recentTransitions().size(); i++) {
            b.append(i == 0 ? "" : ",").append(q(s.recentTransitions().get(i).text()));
        }
        b.append("],\"channel\":[");
        for (int i = 0; i < channel.size(); i++) {
            b.append(i == 0 ? "" : ",").append(q(channel.get(i)));
        }
        b.append("],\"events\":[");
        for (int i = 0; i < events.size(); i++) {
            b.append(i == 0 ? "" : ",").append(q(events.get(i)));
        }
        return b.append("]}").toString();
    }

    public static String text(NodeStatus s, String role, List<String> events) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%s  role %s  state %s  priority %d (effective %d)%n", s.node(), role, s.state(),
                s.priority(), s.effectivePriority()));
        b.append(String.format("  %-22s %4s  %-7s %-28s %5s %9s %9s %8s%n", "instance", "vrid", "role", "master",
                "prio", "sent", "received", "rejected"));
        for (NodeStatus.InstanceStatus x : s.instances()) {
            b.append(String.format("  %-22s %4d  %-7s %-28s %5s %9d %9d %8d%n", x.label(), x.vrid(), x.role(), x.master(),
                    x.masterPriority() < 0 ? "-" : Integer.toString(x.masterPriority()), x.advertsSent(),
                    x.advertsReceived(), x.rejected()));
        }
        if (!s.monitors().isEmpty()) {
            b.append(String.format("  %-36s %-10s %-5s %s%n", "monitor", "effect", "state", "detail"));
            for (var m : s.monitors()) {
                b.append(String.format("  %-36s %-10s %-5s %s%n", m.label(), m.effect(), m.up() ? "up" : "DOWN",
                        m.detail()));
            }
        }
        if (s.state() == dev.tandem.core.ha.NodeState.PASSIVE && s.advertSilenceMicros() >= 0) {
            b.append(String.format(java.util.Locale.ROOT, "  advert silence window %.1f ms (with the dedicated links silent too)%n",
                    s.advertSilenceMicros() / 1000.0));
        }
        if (!s.suspendedBy().isEmpty() || s.flapCount() > 0) {
            b.append("  suspended by: ").append(s.suspendedBy().isEmpty() ? "-" : s.suspendedBy())
                    .append("  flap count: ").append(s.flapCount()).append('\n');
        }
        if (!s.rejectedByReason().isEmpty()) {
            b.append("  rejected packets: ").append(s.rejectedByReason()).append('\n');
        }
        b.append("  last transitions:\n");
        List<HaEvent> t = s.recentTransitions();
        for (HaEvent e : t.subList(Math.max(0, t.size() - 5), t.size())) {
            b.append("    ").append(e.text()).append('\n');
        }
        if (!events.isEmpty()) {
            b.append("  recent events:\n");
            events.forEach(e -> b.append("    ").append(e).append('\n'));
        }
        return b.toString();
    }

    public static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
