package dev.tandem.node.daemon;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;

/**
 * The daemon's heap follows the session table it may hold (docs/session-sync.md, "Memory"). A passive
 * caches up to cluster.sessions.max_entries sessions (~200 bytes each: key, value, map entry) and
 * stages a second copy while a bulk transfer replaces it; an active builds the whole table when a
 * peer needs a bulk. So the soft heap target (ZGC's SoftMaxHeapSize: the heap it tries to stay under,
 * collecting more often rather than growing) is {@link #BASE_BYTES} + {@link #SOFT_BYTES_PER_ENTRY} ×
 * max_entries, and the hard maximum (-Xmx, given by the launcher) should be at least
 * {@link #BASE_BYTES} + {@link #MAX_BYTES_PER_ENTRY} × max_entries. With sessions off: the base.
 *
 * <p>SoftMaxHeapSize is a manageable flag: set at start-up from the configuration, below the -Xmx
 * the JVM was started with, unless the command line gave one (an operator's choice wins). A too small
 * -Xmx is a warning, not a failure (the daemon runs; a full table may not fit). A max_entries changed
 * later (config sync) applies at the next start.
 */
final class HeapSizing {
    static final long MIB = 1 << 20;
    /** What the daemon needs without a session table (64 MiB: the previous fixed soft maximum). */
    static final long BASE_BYTES = 64 * MIB;
    static final long SOFT_BYTES_PER_ENTRY = 256;
    static final long MAX_BYTES_PER_ENTRY = 512;

    private HeapSizing() {}

    /** The soft target for this configuration. */
    static long softTarget(boolean sessions, int maxEntries) {
        return BASE_BYTES + (sessions ? SOFT_BYTES_PER_ENTRY * Math.max(0, maxEntries) : 0);
    }

    /** The -Xmx this configuration needs. */
    static long maxNeeded(boolean sessions, int maxEntries) {
        return BASE_BYTES + (sessions ? MAX_BYTES_PER_ENTRY * Math.max(0, maxEntries) : 0);
    }

    /**
     * Sets SoftMaxHeapSize for the configuration (capped at the JVM's maximum heap); returns a line for
     * the event log saying what was set and, when -Xmx is below what max_entries needs, a warning.
     */
    static String apply(boolean sessions, int maxEntries) {
        long max = Runtime.getRuntime().maxMemory();
        long soft = Math.min(softTarget(sessions, maxEntries), max);
        String what = sessions ? "for " + maxEntries + " sessions (cluster.sessions.max_entries)" : "(sessions off)";
        String set;
        try {
            HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            VMOption given = hs.getVMOption("SoftMaxHeapSize");
            if (given.getOrigin() == VMOption.Origin.VM_CREATION) { // -XX:SoftMaxHeapSize on the command line wins
                set = "heap: soft maximum " + Long.parseLong(given.getValue()) / MIB + " MiB (given on the command line; "
                        + softTarget(sessions, maxEntries) / MIB + " MiB would follow " + what + "), maximum " + max / MIB + " MiB";
            } else {
                hs.setVMOption("SoftMaxHeapSize", Long.toString(soft));
                set = "heap: soft maximum " + soft / MIB + " MiB " + what + ", maximum " + max / MIB + " MiB";
            }
        } catch (RuntimeException e) { // not a HotSpot JVM, the flag not manageable here, a bad value
            set = "heap: maximum " + max / MIB + " MiB (soft maximum not set: " + e.getMessage() + ")";
        }
        long need = maxNeeded(sessions, maxEntries);
        if (max < need) {
            set += "; WARNING: " + maxEntries + " sessions need up to " + need / MIB + " MiB of heap: raise -Xmx";
        }
        return set;
    }
}
