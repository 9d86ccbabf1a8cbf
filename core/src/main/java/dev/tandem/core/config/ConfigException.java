package dev.tandem.core.config;

/** A configuration bundle, delta or encoding that cannot be used; the message names the item or field. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
