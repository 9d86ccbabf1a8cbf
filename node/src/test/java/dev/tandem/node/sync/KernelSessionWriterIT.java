package dev.tandem.node.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.core.sync.SyncReceiver.KernelWrite;
import dev.tandem.core.sync.SyncReceiver.KernelWrite.Kind;
import dev.tandem.lab.Cmd;
import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackSocket;
import dev.tandem.linux.Netns;
import java.net.InetAddress;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Direct mode's writer against a real conntrack table, in a namespace of its own. */
class KernelSessionWriterIT {
    private static String ns;
    private final List<String> warnings = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void up() {
        ns = "tit" + Integer.toHexString(0x1000 + new Random().nextInt(0xefff)) + "-kw";
        Cmd.sh("ip", "netns", "add", ns);
    }

    @AfterAll
    static void down() {
        if (ns != null) {
            Cmd.run("ip", "netns", "del", ns);
        }
    }

    private KernelSessionWriter writer() {
        return new KernelSessionWriter("t", (kind, text) -> {
            if (kind.equals("WARNING")) {
                warnings.add(text);
            }
        });
    }

    private static ConntrackEntry tcp(int port, int mark) throws Exception {
        return ConntrackEntry.of(ConntrackEntry.TCP, ConntrackEntry.Tuple.ports(InetAddress.getByName("10.77.0.1"),
                        InetAddress.getByName("10.77.0.2"), port, 80), 600,
                new ConntrackEntry.TcpInfo(ConntrackEntry.TcpInfo.ESTABLISHED, 7, 7, 0, 0)).withMark(mark);
    }

    private static KernelWrite w(Kind kind, ConntrackEntry e) {
        return new KernelWrite(kind, SessionCodec.key(e), SessionCodec.value(e));
    }

    /** The kernel's entry for e's flow, or null. */
    private static ConntrackEntry inKernel(ConntrackEntry e) {
        try (ConntrackSocket ct = ConntrackSocket.open()) {
            return ct.dump().stream().filter(e::sameFlow).findFirst().orElse(null);
        }
    }

    @Test
    void createsUpdatesRecreatesWhatEndedAndDeletes() throws Exception {
        ConntrackEntry a = tcp(20001, 1);
        ConntrackEntry b = tcp(20002, 1);
        Netns.callIn(ns, () -> {
            try (KernelSessionWriter kw = writer()) {
                KernelSessionWriter.Outcome o = kw.write(List.of(w(Kind.CREATE, a), w(Kind.CREATE, b)));
                assertThat(o.written()).isEqualTo(2);
                assertThat(inKernel(a).mark()).isEqualTo(1);
                assertThat(inKernel(a).isSourceNat()).isFalse();

                kw.write(List.of(w(Kind.UPDATE, a.withMark(2))));
                assertThat(inKernel(a).mark()).isEqualTo(2);
                assertThat(kw.updated()).isEqualTo(1);

                // a ended in the kernel (its own timeout): the next update creates it again
                try (ConntrackSocket ct = ConntrackSocket.open()) {
                    assertThat(ct.delete(a)).isTrue();
                }
                kw.write(List.of(w(Kind.UPDATE, a.withMark(3))));
                assertThat(inKernel(a).mark()).isEqualTo(3);
                assertThat(kw.created()).isEqualTo(3);

                kw.write(List.of(w(Kind.DELETE, b)));
                assertThat(inKernel(b)).isNull();
                kw.write(List.of(w(Kind.DELETE, b))); // already gone: not a failure
                assertThat(kw.deleted()).isEqualTo(2);
                assertThat(kw.failed()).isZero();
                assertThat(kw.injected()).isEqualTo(4);
            }
            return null;
        });
        assertThat(warnings).isEmpty();
    }

    @Test
    void aStaleEntryForTheFlowIsReplacedNotUpdated() throws Exception {
        ConntrackEntry c = tcp(20003, 9);
        Netns.callIn(ns, () -> {
            try (ConntrackSocket ct = ConntrackSocket.open()) {
                assertThat(ct.create(List.of(c)).ok()).isTrue(); // e.g. left from before this node crashed
            }
            // the synced session has no ASSURED bit: an update could not clear it (EBUSY), a new entry has none
            ConntrackEntry synced = c.withMark(5).withStatus(ConntrackEntry.IPS_CONFIRMED | ConntrackEntry.IPS_SEEN_REPLY);
            try (KernelSessionWriter kw = writer()) {
                kw.write(List.of(w(Kind.CREATE, synced)));
                assertThat(kw.replaced()).isEqualTo(1);
                assertThat(kw.failed()).isZero();
            }
            ConntrackEntry now = inKernel(c);
            assertThat(now.mark()).isEqualTo(5);
            assertThat(now.status() & ConntrackEntry.IPS_ASSURED).as("a new entry, not the old one changed").isZero();
            return null;
        });
    }

    @Test
    void refusalsAreCountedReportedAtMostEveryTenSecondsAndNeverThrown() throws Exception {
        ConntrackEntry d = tcp(20004, 0);
        Netns.callIn(ns, () -> {
            try (KernelSessionWriter kw = writer()) {
                kw.write(List.of(w(Kind.CREATE, d)));
                // the kernel refuses to clear ASSURED on an entry (EBUSY)
                ConntrackEntry unassured = d.withStatus(ConntrackEntry.IPS_CONFIRMED | ConntrackEntry.IPS_SEEN_REPLY);
                KernelSessionWriter.Outcome o = kw.write(List.of(w(Kind.UPDATE, unassured), w(Kind.CREATE, tcp(20005, 0))));
                assertThat(o.failed()).isEqualTo(1);
                assertThat(o.written()).isEqualTo(1);
                assertThat(o.refusedKeys()).as("the refused session goes back to the receiver, to be written again")
                        .containsExactly(SessionCodec.key(unassured));
                o = kw.write(List.of(w(Kind.UPDATE, unassured), new KernelWrite(Kind.CREATE, new byte[] {1}, new byte[] {1, 2, 3})));
                assertThat(o.refusedKeys()).as("an undecodable value would be refused again: not retried")
                        .containsExactly(SessionCodec.key(unassured));
                assertThat(kw.failed()).isEqualTo(3);
                assertThat(warnings).as("one warning within ten seconds").hasSize(1);
                assertThat(warnings.getFirst()).contains("EBUSY");
                kw.reportIfDue(System.nanoTime() + KernelSessionWriter.WARN_EVERY_NS + 1);
                assertThat(warnings).hasSize(2);
                assertThat(warnings.get(1)).contains("EBUSY=1").contains("undecodable=1");

                kw.close(); // a broken socket is reopened by the next call
                kw.write(List.of(w(Kind.DELETE, d)));
                assertThat(inKernel(d)).isNull();
            }
            return null;
        });
    }
}
