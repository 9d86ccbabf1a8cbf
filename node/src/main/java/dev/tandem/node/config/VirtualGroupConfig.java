package dev.tandem.node.config;

import java.util.List;

public record VirtualGroupConfig(String name, int vrid, List<SegmentConfig> segments) {

    /** One protected segment: a logical interface and the VIPs placed on it ("10.10.1.254/24"). */
    public record SegmentConfig(String logicalInterface, List<String> addresses) {}
}
