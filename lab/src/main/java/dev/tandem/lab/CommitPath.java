package dev.tandem.lab;

import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackSocket;
import java.util.List;

/**
 * How `tandem bench commit` hands its sessions to the kernel: {@link #prepare} (not timed) puts them in
 * the form the committing code holds them in, {@link #commit} (timed) writes them.
 */
public interface CommitPath<T> {
    /** What commit() does, for the bench's header line. */
    String description();

    T prepare(List<ConntrackEntry> entries);

    Committed commit(ConntrackSocket ct, T prepared);

    /** succeeded: entries in the kernel afterwards; failed: refused (firstFailure says why, or null). */
    record Committed(int succeeded, int failed, String firstFailure) {}

    /** ConntrackSocket.create of ready-made entries. */
    CommitPath<List<ConntrackEntry>> ENTRIES = new CommitPath<>() {
        @Override
        public String description() {
            return "ConntrackSocket.create of ready-made entries";
        }

        @Override
        public List<ConntrackEntry> prepare(List<ConntrackEntry> entries) {
            return entries;
        }

        @Override
        public Committed commit(ConntrackSocket ct, List<ConntrackEntry> prepared) {
            ConntrackSocket.BatchResult r = ct.create(prepared);
            return new Committed(r.succeeded(), r.failures().size(),
                    r.failures().isEmpty() ? null : r.failures().getFirst().reason());
        }
    };
}
