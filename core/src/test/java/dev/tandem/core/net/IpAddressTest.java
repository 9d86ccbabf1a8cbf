package dev.tandem.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class IpAddressTest {
    @Test
    void parsesAndFormats() {
        assertThat(IpAddress.parse("10.10.1.254").toString()).isEqualTo("10.10.1.254");
        assertThat(IpAddress.parse("fd10:10:1::254").toString()).isEqualTo("fd10:10:1::254");
        assertThat(IpAddress.parse("fe80:0:0:0:0:0:0:1").toString()).isEqualTo("fe80::1");
        assertThat(IpAddress.parse("::").toString()).isEqualTo("::");
        assertThat(IpAddress.parse("::ffff:10.1.2.3").byteAt(15)).isEqualTo(3);
        assertThat(IpAddress.parse("1:0:0:2:0:0:0:3").toString()).isEqualTo("1:0:0:2::3");
        assertThat(IpAddress.parse("fe80::1").isIpv6LinkLocal()).isTrue();
    }

    @Test
    void rejectsGarbage() {
        for (String bad : new String[]{"10.10.1", "10.10.1.256", "01.2.3.4", "a.b.c.d", "1::2::3", "1:2:3:4:5:6:7:8:9",
                "12345::", "localhost", "", "1.2.3.4/24"}) {
            assertThat(IpAddress.tryParse(bad)).as(bad).isNull();
        }
        assertThatThrownBy(() -> IpAddress.parse("example.com")).hasMessageContaining("example.com");
    }

    @Test
    void cidrContains() {
        Cidr c = Cidr.parse("10.10.1.1/24");
        assertThat(c.contains(IpAddress.parse("10.10.1.254"))).isTrue();
        assertThat(c.contains(IpAddress.parse("10.10.2.254"))).isFalse();
        assertThat(Cidr.parse("fd10:10:1::1/64").contains(IpAddress.parse("fd10:10:1::254"))).isTrue();
        assertThat(Cidr.parse("10.0.0.1/9").contains(IpAddress.parse("10.127.0.1"))).isTrue();
        assertThat(Cidr.parse("10.0.0.1/9").contains(IpAddress.parse("10.128.0.1"))).isFalse();
        assertThatThrownBy(() -> Cidr.parse("10.0.0.1/33")).hasMessageContaining("33");
    }
}
