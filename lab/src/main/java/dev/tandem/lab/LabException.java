package dev.tandem.lab;

/** A lab operation failed; the message says which command and why. */
public final class LabException extends RuntimeException {
    public LabException(String message) {
        super(message);
    }
}
