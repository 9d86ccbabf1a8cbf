package dev.tandem.core.ha;

/** The node's dynamic state (SPEC §1). All virtual groups of a node share it: one decision. */
public enum NodeState {
    /** Starting: listening for a master for the election delay before it may become active. */
    INITIAL,
    /** Standby, ready to take over. */
    PASSIVE,
    /** Owns the virtual addresses and passes traffic. */
    ACTIVE,
    /** Kept out of the election by an operator. */
    SUSPENDED,
    /** An interface of one of its virtual groups is down: cannot be active. */
    FAULT,
    /** Shut down gracefully; the core does nothing any more. */
    STOPPED;

    /** Whether the node may take part in the election at all. */
    public boolean eligible() {
        return this == INITIAL || this == PASSIVE || this == ACTIVE;
    }
}
