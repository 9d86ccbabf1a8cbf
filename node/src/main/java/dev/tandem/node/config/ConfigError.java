package dev.tandem.node.config;

/** One problem in a cluster file: the field path (e.g. virtual_groups[0].vrid) and why. */
public record ConfigError(String path, String message) {
    @Override
    public String toString() {
        return (path.isEmpty() ? "(file)" : path) + ": " + message;
    }
}
