package dev.tandem.core.config;

import java.util.Objects;

/** What two nodes say to each other about configuration (the peer channel carries them). */
public sealed interface ConfigSyncMessage {

    /** "My version is": sent on every (re)connect and carried by hellos, by both sides. */
    record Status(ConfigVersion version) implements ConfigSyncMessage {
        public Status {
            Objects.requireNonNull(version);
        }
    }

    /** The primary's configuration at {@code version}: exactly one of an incremental delta or the full bundle. */
    record Offer(ConfigVersion version, ConfigDelta delta, ConfigBundle full) implements ConfigSyncMessage {
        public Offer {
            Objects.requireNonNull(version);
            if ((delta == null) == (full == null)) {
                throw new IllegalArgumentException("an offer carries either a delta or a full bundle");
            }
            if (delta != null && !delta.target().equals(version)) {
                throw new IllegalArgumentException("delta target " + delta.target() + " is not the offered " + version);
            }
        }

        public static Offer incremental(ConfigDelta d) {
            return new Offer(d.target(), d, null);
        }

        public static Offer complete(ConfigVersion v, ConfigBundle b) {
            return new Offer(v, null, b);
        }

        public boolean isIncremental() {
            return delta != null;
        }
    }

    /** The receiver cannot use an incremental offer (its base is not what it has): send everything. */
    record RequestFull(ConfigVersion have, String reason) implements ConfigSyncMessage {}

    /** Applied: the receiver now runs {@code version} (its hash is the hash of what it applied). */
    record Ack(ConfigVersion version) implements ConfigSyncMessage {}

    /** Refused or failed: the receiver kept {@code kept} untouched; {@code reason} names the file or rule. */
    record Nack(ConfigVersion offered, ConfigVersion kept, String reason) implements ConfigSyncMessage {}
}
