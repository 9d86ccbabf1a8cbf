package dev.tandem.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** libnftables through FFM, in a namespace of its own (tlx…-nft), deleted afterwards. */
class NftablesTest {
    static String ns;
    static String other;

    static final String FILTER = """
            table inet tfilter {
              chain input {
                type filter hook input priority 0; policy accept;
                tcp dport 22 accept
                ip saddr 192.0.2.1 drop
              }
            }
            """;

    @BeforeAll
    static void namespaces() {
        String p = "tlx" + Integer.toHexString(0x1000 + new Random().nextInt(0xefff));
        ns = p + "-nft";
        other = p + "-nf2";
        TwoHosts.sh("ip", "netns", "add", ns);
        TwoHosts.sh("ip", "netns", "add", other);
    }

    @AfterAll
    static void cleanup() {
        for (String n : new String[] {ns, other}) {
            try {
                TwoHosts.sh("ip", "netns", "del", n);
            } catch (RuntimeException e) {
                // best effort
            }
        }
    }

    static <T> T in(String n, java.util.concurrent.Callable<T> work) {
        return Netns.callIn(n, work);
    }

    static void reset() {
        in(ns, () -> {
            Nftables.apply("flush ruleset");
            return null;
        });
    }

    @Test
    void aValidRulesetAppliesInTheCallingThreadsNamespaceOnly() {
        reset();
        String listed = in(ns, () -> {
            Nftables.apply("flush ruleset\n" + FILTER);
            return Nftables.list();
        });
        assertThat(listed).contains("table inet tfilter").contains("tcp dport 22 accept").contains("ip saddr 192.0.2.1 drop");
        assertThat(TwoHosts.sh("ip", "netns", "exec", ns, "nft", "list", "ruleset")).contains("tcp dport 22 accept");
        assertThat(in(other, Nftables::list)).doesNotContain("tfilter");
        assertThat(in(ns, Nftables::tables)).containsExactly("inet tfilter");
    }

    @Test
    void anInvalidRulesetIsRefusedWithNftsErrorAndNothingChanges() {
        reset();
        String before = in(ns, () -> {
            Nftables.apply(FILTER);
            return Nftables.list();
        });
        // a syntax error on line 4
        String bad = "flush ruleset\ntable inet other {\n chain c {\n  ip saddr 10.0.0.1 dorp\n }\n}\n";
        assertThatThrownBy(() -> in(ns, () -> {
            Nftables.apply(bad);
            return null;
        })).isInstanceOf(Nftables.NftablesException.class).hasMessageContaining("Error").hasMessageContaining("dorp")
                .hasMessageContaining("ruleset:4:");
        assertThat(in(ns, Nftables::list)).isEqualTo(before);

        // parses, but the kernel refuses the last command: the flush and the first table do not happen either
        String kernelRefuses = "flush ruleset\ntable ip t1 {\n chain c {\n }\n}\ntable ip t2 {\n chain c {\n  jump nosuch\n }\n}\n";
        String err = in(ns, () -> {
            try {
                Nftables.apply(kernelRefuses);
                return null;
            } catch (Nftables.NftablesException e) {
                return e.getMessage();
            }
        });
        System.out.println("nft refused (kernel):\n" + err);
        assertThat(err).contains("ruleset:6:").contains("Error").contains("t2");
        assertThat(in(ns, Nftables::list)).isEqualTo(before);
    }

    @Test
    void checkModeChangesNothing() {
        reset();
        String before = in(ns, () -> {
            Nftables.apply(FILTER);
            return Nftables.list();
        });
        assertThat(in(ns, () -> Nftables.check("flush ruleset\ntable ip x {\n chain y {\n  ip daddr 10.1.1.1 drop\n }\n}\n"))).isNull();
        assertThat(in(ns, Nftables::list)).isEqualTo(before);
        String err = in(ns, () -> Nftables.check("table ip x {\n chain y {\n  ip daddr 10.1.1.300 drop\n }\n}\n"));
        assertThat(err).contains("ruleset:3:").contains("10.1.1.300");
        // check mode consults the kernel: deleting a table that does not exist fails there
        assertThat(in(ns, () -> Nftables.check("delete table ip nosuch"))).contains("Error");
        assertThat(in(ns, Nftables::list)).isEqualTo(before);
    }

    @Test
    void tablesOfEveryFamilyAreNamedAsNftNamesThem() {
        reset();
        in(ns, () -> {
            Nftables.apply("table ip a {\n}\ntable ip6 b {\n}\ntable inet c {\n}\ntable arp d {\n}\n"
                    + "table bridge e {\n}\ntable netdev f {\n}\n");
            return null;
        });
        java.util.List<String> byNft = new java.util.ArrayList<>();
        for (String line : in(ns, () -> Nftables.run("list tables", false).output()).split("\n")) {
            if (line.startsWith("table ")) {
                byNft.add(line.substring(6).trim());
            }
        }
        assertThat(byNft).hasSize(6);
        assertThat(in(ns, Nftables::tables)).containsExactlyInAnyOrderElementsOf(byNft);
    }

    @Test
    void replaceKeepsTandemsOwnTables() {
        reset();
        in(ns, () -> {
            Nftables.apply("table inet tandem_accept {\n chain input {\n  type filter hook input priority -150;\n }\n}\n"
                    + FILTER + "table ip old {\n}\n");
            assertThat(Nftables.checkReplace("table ip new {\n}\n", "tandem_")).isNull();
            Nftables.replace("table ip new {\n}\n", "tandem_");
            return null;
        });
        assertThat(in(ns, Nftables::tables)).containsExactlyInAnyOrder("inet tandem_accept", "ip new");
        in(ns, () -> {
            Nftables.replace("table ip newer {\n}\n", null);
            return null;
        });
        assertThat(in(ns, Nftables::tables)).containsExactly("ip newer");
    }

    @Test
    void tenThousandRulesApplyAsOneTransaction() {
        reset();
        StringBuilder b = new StringBuilder("flush ruleset\ntable inet big {\n chain forward {\n"
                + "  type filter hook forward priority 0; policy accept;\n");
        for (int i = 0; i < 10_000; i++) {
            b.append("  ip saddr 10.").append(i / 250).append('.').append(i % 250).append(".1 tcp dport ")
                    .append(1024 + i).append(" counter drop\n");
        }
        String ruleset = b.append(" }\n}\n").toString();
        long[] ms = in(ns, () -> {
            long t0 = System.nanoTime();
            String err = Nftables.check(ruleset);
            long t1 = System.nanoTime();
            assertThat(err).isNull();
            Nftables.apply(ruleset);
            long t2 = System.nanoTime();
            String listed = Nftables.list();
            long t3 = System.nanoTime();
            assertThat(listed.lines().filter(l -> l.contains("counter packets 0 bytes 0 drop")).count()).isEqualTo(10_000);
            // and once more over the existing 10,000 (flush + re-add in one transaction)
            long t4 = System.nanoTime();
            Nftables.apply(ruleset);
            long t5 = System.nanoTime();
            return new long[] {(t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000, (t5 - t4) / 1_000_000};
        });
        System.out.printf("nftables 10,000 rules (%d KiB): check %d ms, apply %d ms, list %d ms, replace %d ms%n",
                ruleset.length() / 1024, ms[0], ms[1], ms[2], ms[3]);
    }
}
