package dev.tandem.core.ha;

/**
 * Something worth telling an operator, in plain words. time is the core's time in nanoseconds;
 * actor names who asked for it (operator commands), empty otherwise.
 */
public record HaEvent(long time, Kind kind, String node, String text, String actor) {

    public HaEvent(long time, Kind kind, String node, String text) {
        this(time, kind, node, text, "");
    }

    public enum Kind { TRANSITION, REJECTED_PACKET, WARNING, INFO, COMMAND, ALARM, MONITOR }

    @Override
    public String toString() {
        return kind + " " + text;
    }
}
