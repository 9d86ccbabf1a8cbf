package dev.tandem.node.sync;

import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes cached session values into a kernel's conntrack table, as a takeover does before the
 * addresses move: each value is decoded straight into the request encoder's view (no entry object per
 * session; on the encoder thread, while the kernel works through the previous datagram), and an entry
 * the kernel already has is replaced by the synced one.
 */
public final class SessionCommit {
    /** committed: sessions in the kernel now (replaced ones included); failed: refused; undecodable: skipped. */
    public record Result(int committed, int replaced, int failed, int undecodable) {}

    private static final int EEXIST = 17;

    private static final ConntrackSocket.EntryLoader<byte[]> VALUES = (value, view) -> {
        try {
            SessionCodec.load(value, view);
            return true;
        } catch (SessionCodec.BadSession e) {
            return false;
        }
    };

    private SessionCommit() {}

    public static Result commit(ConntrackSocket ct, List<byte[]> values) {
        ConntrackSocket.BatchResult r = ct.create(values, VALUES);
        List<ConntrackEntry> exist = new ArrayList<>();
        int failed = 0;
        for (ConntrackSocket.Failure f : r.failures()) {
            if (f.errno() == EEXIST) { // the kernel already tracks it (e.g. traffic came first)
                exist.add(f.entry());
            } else {
                failed++;
            }
        }
        int replaced = 0;
        if (!exist.isEmpty()) {
            // a stale entry (e.g. from before this node crashed) keeps old TCP windows that would mark today's
            // packets invalid: replace it with the synced one
            ct.delete(exist);
            ConntrackSocket.BatchResult u = ct.create(exist);
            replaced = u.succeeded();
            failed += u.failures().size();
        }
        return new Result(r.attempted() - failed, replaced, failed, r.skipped());
    }
}
