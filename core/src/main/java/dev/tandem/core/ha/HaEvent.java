package dev.tandem.core.ha;

/** Something worth telling an operator, in plain words. time is the core's time in nanoseconds. */
public record HaEvent(long time, Kind kind, String node, String text) {

    public enum Kind { TRANSITION, REJECTED_PACKET, WARNING, INFO, COMMAND, ALARM, MONITOR }

    @Override
    public String toString() {
        return kind + " " + text;
    }
}
