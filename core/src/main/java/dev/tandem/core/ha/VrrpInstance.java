package dev.tandem.core.ha;

import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.RejectReason;
import java.util.EnumMap;
import java.util.Map;

/** Per-instance election state as seen by this node: the last master heard and its master-down timer. */
final class VrrpInstance {
    static final long NEVER = Long.MAX_VALUE;

    final InstanceSpec spec;
    /** When the current master counts as silent on this instance. */
    long masterDownAt = NEVER;
    /** The master sent priority 0: it released the role; masterDownAt then holds only the skew time. */
    boolean released;
    IpAddress masterAddress;
    int masterPriority = -1;
    long masterIntervalNanos;
    long lastHeardAt = -1;
    /** Last advert that held off the election (or the moment the node started listening). */
    long lastRespectedAt;
    long advertsSent;
    long advertsReceived;
    final Map<RejectReason, Long> rejected = new EnumMap<>(RejectReason.class);

    VrrpInstance(InstanceSpec spec, long ownIntervalNanos) {
        this.spec = spec;
        this.masterIntervalNanos = ownIntervalNanos;
    }

    boolean silentAt(long now) {
        return now >= masterDownAt;
    }
}
