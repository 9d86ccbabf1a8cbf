package dev.tandem.lab;

/** Two HA daemons on the lab's firewalls: Tandem, or keepalived for comparison. */
public interface HaPair extends AutoCloseable {

    String name();

    /** Starts fw1 then fw2 (fw1 is the primary). */
    void start();

    void start(String fw);

    /** SIGTERM: graceful handover. */
    void stopGracefully(String fw);

    /** SIGKILL: the daemon dies without a word. */
    void kill(String fw);

    boolean running(String fw);

    /**
     * fw runs as the backup and could take over now (for Tandem: PASSIVE, with its session copy
     * complete when session sync is on). Benches wait for it before the fault: a JVM that is still
     * starting on a busy machine is not a failover to measure.
     */
    default boolean ready(String fw) {
        return running(fw);
    }

    /**
     * fw is in its steady state as the backup (Tandem: its advert silence window has adapted to the
     * active's heartbeats, which takes 5 s and forgets the active's start-up after 30 s).
     */
    default boolean settled(String fw) {
        return true;
    }

    /** One line on fw's view of the failover about to be measured (Tandem: its advert silence window), or "". */
    default String detail(String fw) {
        return "";
    }

    /** One line on how fw took over after the fault, or "": Tandem's transition and its cause (which names the silence). */
    default String takeover(String fw) {
        return "";
    }

    /** Kills whatever still runs. */
    @Override
    void close();

    /** What the daemon printed, for error messages. */
    String log(String fw);
}
