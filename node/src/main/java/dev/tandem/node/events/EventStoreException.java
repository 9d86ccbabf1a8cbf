package dev.tandem.node.events;

import java.io.IOException;
import java.nio.file.Path;

/** The event database could not be opened or used; the message names the file and why. */
public final class EventStoreException extends IOException {
    private final Path file;

    public EventStoreException(Path file, String why, Throwable cause) {
        super("event database " + file + ": " + why, cause);
        this.file = file;
    }

    /** The database file concerned. */
    public Path file() {
        return file;
    }
}
