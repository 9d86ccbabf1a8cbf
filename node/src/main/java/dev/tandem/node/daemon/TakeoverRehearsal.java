package dev.tandem.node.daemon;

import dev.tandem.core.ha.Action;
import dev.tandem.core.ha.Input;
import dev.tandem.core.ha.InstanceSpec;
import dev.tandem.core.ha.NodeCore;
import dev.tandem.core.ha.NodeSpec;
import dev.tandem.core.ha.NodeState;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.vrrp.ChecksumMode;
import dev.tandem.core.vrrp.VrrpAdvert;
import dev.tandem.core.vrrp.VrrpCodec;
import dev.tandem.linux.NeighbourAnnouncer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Before a node joins the election it plays every transition once on a throwaway core, with a
 * made-up peer and no kernel effect: classes load, lambdas and formatting initialise, and the first
 * real takeover runs at full speed. Measured on the lab: without it the first takeover of a JVM
 * took ~12 ms longer (class loading and first-use initialisation on the critical path).
 */
final class TakeoverRehearsal {
    private static final long MS = 1_000_000L;

    private TakeoverRehearsal() {}

    /** Returns the number of actions rehearsed (so the work cannot be optimised away). */
    static int run(NodeSpec spec, EventLog log) {
        NodeCore core = new NodeCore(spec);
        InstanceSpec first = spec.instances().getFirst();
        IpAddress peer = first.ipv6() ? IpAddress.parse("fe80::7a:7a:7a:7a") : IpAddress.parse("192.0.2.77");
        List<Action> all = new ArrayList<>();
        long t = 1_000 * MS;
        all.addAll(core.start(t, Set.of()));
        for (int i = 0; i < 1000 && core.state() != NodeState.ACTIVE; i++) {
            t = Math.max(t + MS, core.nextDeadline());
            all.addAll(core.step(t, new Input.Tick()));
        }
        all.addAll(core.step(t += MS, advert(first, peer, 255)));   // a higher master: PASSIVE
        all.addAll(core.step(t += MS, advert(first, peer, 0)));     // it releases: ACTIVE after skew
        for (int i = 0; i < 1000 && core.state() != NodeState.ACTIVE; i++) {
            t = Math.max(t + MS, core.nextDeadline());
            all.addAll(core.step(t, new Input.Tick()));
        }
        all.addAll(core.step(t += MS, advert(first, peer, 1)));     // a lower master: assert
        all.addAll(core.step(t += MS, new Input.LinkChanged(first.iface(), false)));
        all.addAll(core.step(t += MS, new Input.LinkChanged(first.iface(), true)));
        for (int i = 0; i < 1000 && core.state() != NodeState.ACTIVE; i++) {
            t = Math.max(t + MS, core.nextDeadline());
            all.addAll(core.step(t, new Input.Tick()));
        }
        all.addAll(core.step(t += MS, new Input.PacketReceived(first.iface(), first.ipv6(), peer,
                VrrpCodec.group(first.ipv6()), 1, new byte[8])));
        all.addAll(core.step(t += MS, new Input.Command(Input.CommandKind.DEMOTE, "rehearsal")));
        all.addAll(core.step(t += MS, new Input.Command(Input.CommandKind.SUSPEND, "rehearsal")));
        all.addAll(core.step(t += MS, new Input.Command(Input.CommandKind.RESUME, "rehearsal")));
        all.addAll(core.step(t + MS, new Input.Shutdown("rehearsal")));
        StatusReport.json(core.status(), "rehearsal", List.of(), 0);
        StatusReport.text(core.status(), "rehearsal", List.of());
        byte[] mac = {2, 0, 0, 0, 0, 1};
        int bytes = 0;
        for (Action a : all) {
            switch (a) {
                case Action.Announce x -> {
                    for (IpAddress ip : x.addresses()) {
                        bytes += ip.isIpv6() ? NeighbourAnnouncer.naFrame(mac, peer.isIpv6() ? peer.bytes()
                                : new byte[16], ip.bytes()).length : NeighbourAnnouncer.arpFrame(mac, ip.bytes()).length;
                    }
                }
                case Action.Record r -> bytes += EventLog.line(r.event().kind().name(), r.event().text()).length();
                case Action.SendAdvert s -> bytes += s.payload().length;
                default -> bytes++;
            }
        }
        return bytes;
    }

    private static Input advert(InstanceSpec i, IpAddress from, int priority) {
        List<IpAddress> vips = new ArrayList<>();
        i.addresses().forEach(c -> vips.add(c.address()));
        byte[] b = VrrpCodec.encode(new VrrpAdvert(i.vrid(), priority, 1, vips, true), from, ChecksumMode.RFC5798);
        return new Input.PacketReceived(i.iface(), i.ipv6(), from, VrrpCodec.group(i.ipv6()), 255, b);
    }
}
