package dev.tandem.node.daemon;

import dev.tandem.core.ha.HaTimers;
import dev.tandem.core.ha.InstanceSpec;
import dev.tandem.core.ha.NodeSpec;
import dev.tandem.core.health.HealthSpec;
import dev.tandem.core.health.MonitorSpec;
import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.ChecksumMode;
import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.config.ClusterSettings;
import dev.tandem.node.config.MonitorsConfig;
import dev.tandem.node.config.NodeConfig;
import dev.tandem.node.config.VirtualGroupConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns the cluster file plus what the kernel says about this node's interfaces into the core's
 * NodeSpec. Checks what only the running node can check: the interfaces exist and every VIP lies
 * inside a subnet of its interface.
 */
public final class InstancePlan {

    /** What the kernel reports for one interface: its addresses (non-virtual ones decide the source). */
    public record InterfaceFacts(String name, boolean exists, List<Cidr> addresses) {}

    private InstancePlan() {}

    public static HaTimers timers(ClusterSettings c) {
        return new HaTimers(c.advertIntervalMs(), c.electionDelayMs(), c.preemptionHoldMs(), c.announceCount(),
                c.announceSpacingMs(), c.announceRefreshMs(), c.promotionHoldMs());
    }

    /**
     * @throws IllegalArgumentException listing every problem found
     */
    public static NodeSpec plan(ClusterConfig cfg, String nodeName, Map<String, InterfaceFacts> facts) {
        NodeConfig node = cfg.node(nodeName);
        List<String> problems = new ArrayList<>();
        List<InstanceSpec> instances = new ArrayList<>();
        List<Cidr> allVips = new ArrayList<>();
        for (VirtualGroupConfig vg : cfg.virtualGroups()) {
            for (VirtualGroupConfig.SegmentConfig seg : vg.segments()) {
                for (String a : seg.addresses()) {
                    allVips.add(Cidr.parse(a));
                }
            }
        }
        for (VirtualGroupConfig vg : cfg.virtualGroups()) {
            for (VirtualGroupConfig.SegmentConfig seg : vg.segments()) {
                String iface = node.interfaces().get(seg.logicalInterface());
                InterfaceFacts f = iface == null ? null : facts.get(iface);
                if (f == null || !f.exists()) {
                    problems.add("virtual group " + vg.name() + ": interface '" + iface + "' (" + seg.logicalInterface()
                            + ") does not exist on " + nodeName);
                    continue;
                }
                for (boolean v6 : new boolean[]{false, true}) {
                    List<Cidr> vips = new ArrayList<>();
                    for (String a : seg.addresses()) {
                        Cidr c = Cidr.parse(a);
                        if (c.address().isIpv6() == v6) {
                            vips.add(c);
                        }
                    }
                    if (vips.isEmpty()) {
                        continue;
                    }
                    IpAddress source = null;
                    List<Cidr> own = new ArrayList<>();
                    for (Cidr c : f.addresses()) {
                        if (c.address().isIpv6() != v6 || containsAddress(allVips, c.address())) {
                            continue;
                        }
                        own.add(c);
                        boolean suits = v6 ? c.address().isIpv6LinkLocal() : true;
                        if (source == null && suits) {
                            source = c.address();
                        }
                    }
                    if (source == null) {
                        problems.add("virtual group " + vg.name() + ": interface " + iface + " has no "
                                + (v6 ? "IPv6 link-local" : "IPv4") + " address to send adverts from");
                        continue;
                    }
                    for (Cidr vip : vips) {
                        boolean inside = false;
                        for (Cidr c : own) {
                            if (!c.address().isIpv6LinkLocal() && c.contains(vip.address())) {
                                inside = true;
                            }
                        }
                        if (!inside) {
                            problems.add("virtual group " + vg.name() + ": VIP " + vip + " is outside every subnet of "
                                    + iface + " " + own);
                        }
                    }
                    instances.add(new InstanceSpec(vg.name(), vg.vrid(), iface, v6, vips, source));
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        ClusterSettings c = cfg.cluster();
        ChecksumMode mode = "v2".equals(c.checksum()) ? ChecksumMode.V2 : ChecksumMode.RFC5798;
        return new NodeSpec(nodeName, node.priority(), c.preempt(), c.accept(), mode, timers(c), instances,
                peerLinks(cfg, nodeName), health(cfg, nodeName));
    }

    public static final String SELF_IP_FORWARDING = "self.ip-forwarding";
    public static final String SELF_NFT_TABLE = "self.nft-table";
    public static final String SELF_THREADS = "self.threads";

    /** The node's monitors for the core: link group interfaces mapped to this node's kernel names. */
    public static HealthSpec health(ClusterConfig cfg, String nodeName) {
        NodeConfig node = cfg.node(nodeName);
        MonitorsConfig m = cfg.monitors();
        ClusterSettings c = cfg.cluster();
        List<MonitorSpec> list = new ArrayList<>();
        for (MonitorsConfig.LinkGroup g : m.linkGroups()) {
            List<String> kernel = new ArrayList<>();
            for (String l : g.interfaces()) {
                kernel.add(node.interfaces().getOrDefault(l, l));
            }
            list.add(new MonitorSpec.LinkGroup(g.name(), kernel, g.failOnAll(), effect(g.weight())));
        }
        for (MonitorsConfig.PathGroup g : m.pathGroups()) {
            list.add(new MonitorSpec.PathGroup(g.name(), g.destinations(), g.failures(), g.failOnAll(), g.compare(),
                    effect(g.weight())));
        }
        for (MonitorsConfig.ServiceCheck s : m.serviceChecks()) {
            list.add(new MonitorSpec.ServiceCheck(s.name(), s.fall(), s.rise(), effect(s.weight())));
        }
        MonitorsConfig.SelfChecks self = m.selfChecks();
        if (self.ipForwarding()) {
            list.add(new MonitorSpec.ServiceCheck(SELF_IP_FORWARDING, 1, 1, MonitorSpec.Effect.toFault()));
        }
        if (self.nftTable() != null) {
            list.add(new MonitorSpec.ServiceCheck(SELF_NFT_TABLE, 2, 1, MonitorSpec.Effect.toFault()));
        }
        if (self.threads()) {
            list.add(new MonitorSpec.ServiceCheck(SELF_THREADS, 1, 1, MonitorSpec.Effect.toFault()));
        }
        return new HealthSpec(list, m.linkGroupsAll(), c.monitorFailHoldUpMs(), c.additionalMasterHoldUpMs(),
                c.monitorFailHoldDownMs(), c.flapMax(), HealthSpec.FLAP_WINDOW_MS, HealthSpec.FLAP_QUIET_MS);
    }

    private static MonitorSpec.Effect effect(int weight) {
        return weight == 0 ? MonitorSpec.Effect.toFault() : MonitorSpec.Effect.weight(weight);
    }

    /** The dedicated paths: "control" when every node has a control address, "backup" likewise. */
    public static dev.tandem.core.ha.PeerLinks peerLinks(ClusterConfig cfg, String nodeName) {
        NodeConfig me = cfg.node(nodeName);
        if (me.control() == null) {
            return dev.tandem.core.ha.PeerLinks.none();
        }
        List<String> peers = new ArrayList<>();
        for (String n : cfg.nodes().keySet()) {
            if (!n.equals(nodeName)) {
                peers.add(n);
            }
        }
        List<String> paths = me.backup() != null ? List.of("control", "backup") : List.of("control");
        ClusterSettings c = cfg.cluster();
        return new dev.tandem.core.ha.PeerLinks(peers, paths, c.heartbeatIntervalMs(), c.heartbeatMisses(),
                c.advertSilenceMs());
    }

    private static boolean containsAddress(List<Cidr> list, IpAddress a) {
        for (Cidr c : list) {
            if (c.address().equals(a)) {
                return true;
            }
        }
        return false;
    }
}
