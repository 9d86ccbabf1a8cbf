package dev.tandem.node.cli;

import dev.tandem.node.api.Json;
import java.util.List;
import java.util.Map;

/** Small helpers for printing what a node sent: terminal-safe text and JSON written back out. */
final class Text {
    private Text() {}

    /** {@code s} with newlines as " / " and every other control character (ESC included) as a space. */
    static String clean(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n') {
                b.append(" / ");
            } else if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                b.append(' ');
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** A value from {@link Json#parse} written back as JSON. */
    static String json(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v) {
        switch (v) {
            case null -> b.append("null");
            case String s -> b.append(Json.q(s));
            case Map<?, ?> m -> {
                b.append('{');
                int i = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    b.append(i++ == 0 ? "" : ",").append(Json.q(String.valueOf(e.getKey()))).append(':');
                    write(b, e.getValue());
                }
                b.append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    b.append(i == 0 ? "" : ",");
                    write(b, l.get(i));
                }
                b.append(']');
            }
            default -> b.append(v); // Long, Double, Boolean
        }
    }

    /** The string field {@code k} of {@code m} cleaned for a terminal, or {@code dflt} when absent or null. */
    static String str(Map<?, ?> m, String k, String dflt) {
        Object v = m.get(k);
        return v == null ? dflt : clean(String.valueOf(v));
    }
}
