package dev.tandem.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigBundleTest {
    static ConfigBundle sample() {
        return ConfigBundle.empty()
                .withNftables("table inet f {\n chain input { type filter hook input priority 0; }\n}\n")
                .withTandem("virtual_groups:\n  - id: 1\n")
                .withFile("/etc/dnsmasq.d/lan.conf", "dhcp-range=10.0.0.10,10.0.0.99\n", "systemctl reload dnsmasq")
                .withFile("/etc/motd", "héllo ✓ \uD83D\uDE00\n", "");
    }

    @Test
    void canonicalEncodingRoundTripsAndHashIsOrderIndependent() {
        ConfigBundle b = sample();
        ConfigBundle back = ConfigBundle.decode(b.canonical());
        assertThat(back).isEqualTo(b);
        assertThat(back.hash()).isEqualTo(b.hash()).hasSize(64);

        Map<String, ConfigBundle.Item> reversed = new LinkedHashMap<>();
        b.items().reversed().forEach(reversed::put);
        assertThat(ConfigBundle.of(reversed).hash()).isEqualTo(b.hash());
        assertThat(b.files()).containsOnlyKeys("/etc/dnsmasq.d/lan.conf", "/etc/motd");
        assertThat(b.files().get("/etc/dnsmasq.d/lan.conf").reload()).isEqualTo("systemctl reload dnsmasq");
    }

    @Test
    void everyFieldIsInTheHash() {
        ConfigBundle b = sample();
        assertThat(b.withFile("/etc/dnsmasq.d/lan.conf", "dhcp-range=10.0.0.10,10.0.0.99\n", "true").hash())
                .isNotEqualTo(b.hash());
        assertThat(b.withNftables(b.nftables() + " ").hash()).isNotEqualTo(b.hash());
        assertThat(b.without(ConfigBundle.TANDEM).hash()).isNotEqualTo(b.hash());
        // absent and empty are different
        assertThat(ConfigBundle.empty().withTandem("").hash()).isNotEqualTo(ConfigBundle.empty().hash());
        // the empty bundle's hash is fixed: SHA-256 of "tandem-config 1\n"
        assertThat(ConfigVersion.initial().counter()).isZero();
        assertThat(ConfigBundle.empty().canonical()).isEqualTo("tandem-config 1\n");
    }

    @Test
    void namesAreChecked() {
        ConfigBundle e = ConfigBundle.empty();
        assertThatThrownBy(() -> e.withFile("etc/x", "", "")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("file:etc/x");
        assertThatThrownBy(() -> e.withFile("/etc/../x", "", "")).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> e.withFile("/etc/x/", "", "")).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> e.with("bogus", ConfigBundle.Item.of(""))).hasMessageContaining("unknown item");
        assertThatThrownBy(() -> e.with(ConfigBundle.NFTABLES, new ConfigBundle.Item("", "reload")))
                .hasMessageContaining("only declared files");
        assertThatThrownBy(() -> new ConfigBundle.Item("", "a\nb")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void decodeRejectsDamage() {
        String c = sample().canonical();
        assertThatThrownBy(() -> ConfigBundle.decode(c.substring(0, c.length() - 3))).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> ConfigBundle.decode("tandem-config 2\n")).hasMessageContaining("header");
        assertThatThrownBy(() -> ConfigBundle.decode(c.replace("item 8 ", "item 9 "))).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> ConfigBundle.decode(c.replace("item 8 ", "item -8 "))).isInstanceOf(ConfigException.class);
        // items out of canonical order
        String twice = "tandem-config 1\nitem 6 0 0\ntandem\n\n\nitem 8 0 0\nnftables\n\n\n";
        assertThatThrownBy(() -> ConfigBundle.decode(twice)).hasMessageContaining("order");
    }

    @Test
    void versionsOnlyMoveForwardUnlessRollback() {
        ConfigVersion v1 = new ConfigVersion(1, sample().hash());
        ConfigVersion v2 = v1.next(ConfigBundle.empty());
        ConfigVersion.requireForward(v1, v2, false);
        ConfigVersion.requireForward(v1, v1, false);
        assertThatThrownBy(() -> ConfigVersion.requireForward(v2, v1, false)).hasMessageContaining("go back");
        assertThatThrownBy(() -> ConfigVersion.requireForward(v1, new ConfigVersion(1, ConfigBundle.empty().hash()),
                false)).hasMessageContaining("go back");
        ConfigVersion.requireForward(v2, v1, true);
        assertThatThrownBy(() -> new ConfigVersion(1, "abc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void deltaCarriesOnlyChangesAndChecksHashes() {
        ConfigBundle a = sample();
        ConfigBundle b = a.withFile("/etc/motd", "bye\n", "").without(ConfigBundle.TANDEM)
                .withFile("/etc/new.conf", "x=1\n", "systemctl restart new");
        ConfigVersion va = new ConfigVersion(4, a.hash());
        ConfigVersion vb = va.next(b);
        ConfigDelta d = ConfigDelta.between(va, a, vb, b);
        assertThat(d.changed()).containsOnlyKeys("file:/etc/motd", "file:/etc/new.conf");
        assertThat(d.removed()).containsExactly("tandem");
        assertThat(d.apply(a)).isEqualTo(b);
        assertThat(ConfigDelta.decode(d.encode())).isEqualTo(d);
        assertThat(ConfigDelta.decode(d.encode()).apply(a)).isEqualTo(b);

        assertThatThrownBy(() -> d.apply(b)).isInstanceOf(ConfigException.class).hasMessageContaining("does not apply");
        ConfigDelta lying = new ConfigDelta(va, new ConfigVersion(5, a.hash()), d.changed(), d.removed());
        assertThatThrownBy(() -> lying.apply(a)).hasMessageContaining("not the target's");
        assertThat(ConfigDelta.between(va, a, va, a).isEmpty()).isTrue();
    }
}
