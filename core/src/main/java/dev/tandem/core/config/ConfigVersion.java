package dev.tandem.core.config;

/**
 * A configuration version: a counter that only moves forward and the SHA-256 (hex) of the bundle's
 * canonical encoding. Two versions are the same only if both counter and hash are.
 */
public record ConfigVersion(long counter, String hash) {
    public ConfigVersion {
        if (counter < 0) {
            throw new IllegalArgumentException("negative version counter " + counter);
        }
        if (hash == null || !hash.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("version hash must be 64 lower-case hex digits: " + hash);
        }
    }

    /** Version 0: the empty bundle every node starts from. */
    public static ConfigVersion initial() {
        return new ConfigVersion(0, ConfigBundle.empty().hash());
    }

    /** The version after this one for the given content. */
    public ConfigVersion next(ConfigBundle bundle) {
        return new ConfigVersion(counter + 1, bundle.hash());
    }

    public boolean sameContent(ConfigVersion o) {
        return hash.equals(o.hash);
    }

    /**
     * The invariant: a node's version never goes back, except by an explicit rollback. Moving to a
     * version with the same counter is allowed only if it is the same version.
     *
     * @throws IllegalStateException naming both versions when {@code to} would go back
     */
    public static void requireForward(ConfigVersion from, ConfigVersion to, boolean rollback) {
        if (rollback) {
            return;
        }
        if (to.counter < from.counter || (to.counter == from.counter && !to.hash.equals(from.hash))) {
            throw new IllegalStateException("config version would go back from " + from + " to " + to
                    + " without an explicit rollback");
        }
    }

    /** "17/3fa2b1c0d4e5": the counter and the first 12 hex digits of the hash. */
    public String shortForm() {
        return counter + "/" + hash.substring(0, 12);
    }

    @Override
    public String toString() {
        return shortForm();
    }
}
