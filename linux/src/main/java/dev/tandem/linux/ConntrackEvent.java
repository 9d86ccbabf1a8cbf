package dev.tandem.linux;

import java.util.Objects;

/**
 * One ctnetlink notification. NEW: an entry was created (CT_NEW with NLM_F_CREATE); UPDATE: its state,
 * status or timeout changed (CT_NEW without it); DESTROY: it is gone (CT_DELETE; the entry then carries
 * no timeout).
 */
public record ConntrackEvent(Type type, ConntrackEntry entry) {
    public enum Type {
        NEW(1), UPDATE(2), DESTROY(4);

        /** The netlink multicast group bit (NFNLGRP_CONNTRACK_NEW = 1, _UPDATE = 2, _DESTROY = 3). */
        private final int groupBit;

        Type(int groupBit) {
            this.groupBit = groupBit;
        }

        public int groupBit() {
            return groupBit;
        }
    }

    public ConntrackEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(entry, "entry");
    }
}
