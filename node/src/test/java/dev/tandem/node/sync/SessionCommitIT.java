package dev.tandem.node.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.SyntheticSessions;
import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackSocket;
import dev.tandem.linux.Netns;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The takeover commit of cached values against a real conntrack table, in a namespace of its own. */
class SessionCommitIT {
    private static String ns;

    @BeforeAll
    static void up() {
        ns = "tit" + Integer.toHexString(0x1000 + new Random().nextInt(0xefff)) + "-sc";
        Cmd.sh("ip", "netns", "add", ns);
    }

    @AfterAll
    static void down() {
        if (ns != null) {
            Cmd.run("ip", "netns", "del", ns);
        }
    }

    @Test
    void commitsCachedValuesSkipsGarbageAndReplacesStaleEntries() throws Exception {
        int n = 20_000; // above the pipelining threshold: decoded on the encoder thread
        List<ConntrackEntry> sessions = SyntheticSessions.range(0, n, 600);
        List<byte[]> values = new ArrayList<>();
        for (ConntrackEntry e : sessions) {
            values.add(SessionCodec.value(e));
        }
        byte[] truncated = java.util.Arrays.copyOf(values.get(10), 9);
        byte[] wrongVersion = values.get(11).clone();
        wrongVersion[0] = 9;
        values.add(100, truncated);
        values.add(5000, wrongVersion);
        // a stale entry for session 42: same flow, old mark and timeout (e.g. from before a crash)
        ConntrackEntry stale = sessions.get(42).withMark(7).withTimeout(30);
        Netns.callIn(ns, () -> {
            try (ConntrackSocket ct = ConntrackSocket.open()) {
                ct.flush();
                assertThat(ct.create(List.of(stale)).ok()).isTrue();
                SessionCommit.Result r = SessionCommit.commit(ct, values);
                assertThat(r.undecodable()).isEqualTo(2);
                assertThat(r.failed()).isZero();
                assertThat(r.replaced()).isEqualTo(1);
                assertThat(r.committed()).isEqualTo(n);
                List<ConntrackEntry> kernel = new ArrayList<>(ct.dump());
                assertThat(kernel).hasSize(n);
                // every session as the active had it: tuples (NAT), status bits that matter, mark, TCP state
                Comparator<ConntrackEntry> byFlow = Comparator.comparing((ConntrackEntry e) -> e.original().toString());
                kernel.sort(byFlow);
                List<ConntrackEntry> want = new ArrayList<>(sessions);
                want.sort(byFlow);
                for (int i = 0; i < n; i++) {
                    ConntrackEntry k = kernel.get(i);
                    ConntrackEntry w = want.get(i);
                    assertThat(k.original()).isEqualTo(w.original());
                    assertThat(k.reply()).as("reply of %s", w.original()).isEqualTo(w.reply());
                    assertThat(k.mark()).isEqualTo(w.mark());
                    assertThat(k.status() & (ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_ASSURED | ConntrackEntry.IPS_SEEN_REPLY))
                            .isEqualTo(w.status() & (ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_ASSURED
                                    | ConntrackEntry.IPS_SEEN_REPLY));
                    assertThat(k.tcp().state()).isEqualTo(w.tcp().state());
                }
                ConntrackEntry replaced = kernel.stream().filter(e -> e.sameFlow(stale)).findFirst().orElseThrow();
                assertThat(replaced.mark()).isZero();
                assertThat(replaced.timeoutSeconds()).isGreaterThan(500);
                ct.flush();
            }
            return null;
        });
    }

    /**
     * Each synthetic table `bench commit --nat` offers goes in as the active had it: source NAT with the
     * client's port kept (the kernel's NAT set-up takes the port as it is) and routed sessions (no NAT
     * bits) as well as the port-translated default.
     */
    @Test
    void everyKindOfSyntheticTableCommitsAsItWas() throws Exception {
        int n = 3_000;
        for (SyntheticSessions.Nat nat : SyntheticSessions.Nat.values()) {
            List<ConntrackEntry> sessions = SyntheticSessions.range(nat, 0, n, 600);
            List<byte[]> values = new ArrayList<>();
            for (ConntrackEntry e : sessions) {
                values.add(SessionCodec.value(e));
            }
            Netns.callIn(ns, () -> {
                try (ConntrackSocket ct = ConntrackSocket.open()) {
                    ct.flush();
                    SessionCommit.Result r = SessionCommit.commit(ct, values);
                    assertThat(r.committed()).as(nat.label).isEqualTo(n);
                    assertThat(r.failed()).as(nat.label).isZero();
                    java.util.Map<String, ConntrackEntry> kernel = new java.util.HashMap<>();
                    for (ConntrackEntry k : ct.dump()) {
                        kernel.put(k.original().toString(), k);
                    }
                    assertThat(kernel).as(nat.label).hasSize(n);
                    for (ConntrackEntry w : sessions) {
                        ConntrackEntry k = kernel.get(w.original().toString());
                        assertThat(k).as("%s: %s", nat.label, w.original()).isNotNull();
                        assertThat(k.reply()).as("%s: reply of %s", nat.label, w.original()).isEqualTo(w.reply());
                        assertThat(k.status() & ConntrackEntry.IPS_SRC_NAT).as(nat.label)
                                .isEqualTo(nat == SyntheticSessions.Nat.NONE ? 0 : ConntrackEntry.IPS_SRC_NAT);
                        assertThat(k.tcp().state()).isEqualTo(w.tcp().state());
                    }
                    ct.flush();
                }
                return null;
            });
        }
    }
}
