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

    /** Kills whatever still runs. */
    @Override
    void close();

    /** What the daemon printed, for error messages. */
    String log(String fw);
}
