package dev.tandem.node.configsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.core.config.ConfigBundle;
import dev.tandem.core.config.ConfigDelta;
import dev.tandem.core.config.ConfigException;
import dev.tandem.core.config.ConfigSyncMessage;
import dev.tandem.core.config.ConfigVersion;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SyncMessageCodecTest {
    @Test
    void roundTripsEveryMessage() {
        ConfigBundle a = ConfigBundle.empty().withNftables("table inet f {}\n");
        ConfigBundle b = a.withFile("/etc/x", "é\n", "'/bin/true'");
        ConfigVersion va = new ConfigVersion(1, a.hash());
        ConfigVersion vb = new ConfigVersion(2, b.hash());
        for (ConfigSyncMessage m : List.of(new ConfigSyncMessage.Status(va), new ConfigSyncMessage.Ack(vb),
                new ConfigSyncMessage.RequestFull(va, "why\nnot"), new ConfigSyncMessage.Nack(vb, va, "file:/etc/x: no"),
                ConfigSyncMessage.Offer.complete(vb, b), ConfigSyncMessage.Offer.incremental(ConfigDelta.between(va, a, vb, b)))) {
            assertThat(SyncMessageCodec.decode(SyncMessageCodec.encode(m))).isEqualTo(m);
        }
    }

    @Test
    void malformedIsRefusedWithAReasonNeverACrash() {
        assertThatThrownBy(() -> SyncMessageCodec.decode("status 1 zz")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("hash");
        assertThatThrownBy(() -> SyncMessageCodec.decode("bogus")).hasMessageContaining("unknown config sync message");
        ConfigBundle b = ConfigBundle.empty().withNftables("table inet f { chain c { } }\n");
        String good = SyncMessageCodec.encode(ConfigSyncMessage.Offer.complete(new ConfigVersion(3, b.hash()), b));
        Random r = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            char[] c = good.toCharArray();
            int n = 1 + r.nextInt(4);
            for (int k = 0; k < n; k++) {
                c[r.nextInt(c.length)] = (char) r.nextInt(128);
            }
            String s = r.nextBoolean() ? new String(c) : new String(c).substring(0, r.nextInt(c.length));
            try {
                SyncMessageCodec.decode(s);
            } catch (ConfigException e) {
                assertThat(e.getMessage()).isNotBlank();
            }
        }
    }
}
