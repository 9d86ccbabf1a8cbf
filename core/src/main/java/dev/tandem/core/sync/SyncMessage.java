package dev.tandem.core.sync;

import java.util.List;

/** The session-sync protocol on the data link (docs/session-sync.md). */
public sealed interface SyncMessage {

    /**
     * Changes, in order. epoch names the sender's stream (a new one after every bulk); seq counts
     * batches within it from 1. bulk: part of a full-table transfer.
     */
    record Batch(long epoch, long seq, boolean bulk, List<SessionChange> changes) implements SyncMessage {
        public Batch {
            changes = List.copyOf(changes);
        }
    }

    /** A full-table transfer starts: the receiver clears its cache when it completes. */
    record BulkBegin(long epoch) implements SyncMessage {}

    /** The full-table transfer ended with batch lastSeq: the cache now equals the sender's table. */
    record BulkEnd(long epoch, long lastSeq, long entries) implements SyncMessage {}

    /** Receiver to sender: everything up to seq of epoch is applied (cumulative). */
    record Ack(long epoch, long seq) implements SyncMessage {}

    /**
     * Receiver to sender, first thing on every (re)connect: what it has, so the sender can resend
     * from there if it still holds those batches, or start a bulk transfer.
     */
    record Resume(long epoch, long seq, boolean complete) implements SyncMessage {}
}
