package dev.tandem.node.api;

/** An operator action the node's current state does not allow (answered with HTTP 409 and this message). */
public final class ActionRefused extends Exception {
    public ActionRefused(String message) {
        super(message);
    }
}
