package dev.tandem.node.configsync;

import dev.tandem.core.config.ConfigBundle;
import dev.tandem.core.config.ConfigDelta;
import dev.tandem.core.config.ConfigException;
import dev.tandem.core.config.ConfigSyncMessage;
import dev.tandem.core.config.ConfigVersion;

/**
 * Text encoding of {@link ConfigSyncMessage} for the peer channel's CONFIG frames. The first line
 * names the message and its versions; an offer's bundle or delta and a reason follow as the rest.
 * Decoding is strict: anything malformed is a {@link ConfigException} with the reason.
 */
public final class SyncMessageCodec {
    private SyncMessageCodec() {}

    public static String encode(ConfigSyncMessage m) {
        return switch (m) {
            case ConfigSyncMessage.Status s -> "status " + v(s.version());
            case ConfigSyncMessage.Ack a -> "ack " + v(a.version());
            case ConfigSyncMessage.RequestFull r -> "request-full " + v(r.have()) + "\n" + r.reason();
            case ConfigSyncMessage.Nack n -> "nack " + v(n.offered()) + " " + v(n.kept()) + "\n" + n.reason();
            case ConfigSyncMessage.Offer o -> o.isIncremental() ? "offer-delta\n" + o.delta().encode()
                    : "offer-full " + v(o.version()) + "\n" + o.full().canonical();
        };
    }

    private static String v(ConfigVersion v) {
        return v.counter() + " " + v.hash();
    }

    public static ConfigSyncMessage decode(String text) throws ConfigException {
        int nl = text.indexOf('\n');
        String head = nl < 0 ? text : text.substring(0, nl);
        String rest = nl < 0 ? null : text.substring(nl + 1);
        String[] w = head.split(" ", -1);
        try {
            return switch (w[0]) {
                case "status" -> {
                    noRest(rest, w, 3);
                    yield new ConfigSyncMessage.Status(version(w, 1));
                }
                case "ack" -> {
                    noRest(rest, w, 3);
                    yield new ConfigSyncMessage.Ack(version(w, 1));
                }
                case "request-full" -> new ConfigSyncMessage.RequestFull(version(count(w, 3), 1), need(rest));
                case "nack" -> new ConfigSyncMessage.Nack(version(count(w, 5), 1), version(w, 3), need(rest));
                case "offer-delta" -> ConfigSyncMessage.Offer.incremental(ConfigDelta.decode(need(count(w, 1), rest)));
                case "offer-full" -> {
                    ConfigVersion v = version(count(w, 3), 1);
                    yield ConfigSyncMessage.Offer.complete(v, ConfigBundle.decode(need(rest)));
                }
                default -> throw new ConfigException("unknown config sync message '" + clip(w[0]) + "'");
            };
        } catch (ConfigException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ConfigException("malformed config sync message '" + clip(head) + "': " + e.getMessage());
        }
    }

    private static String[] count(String[] w, int n) throws ConfigException {
        if (w.length != n) {
            throw new ConfigException("config sync message '" + w[0] + "' with " + (w.length - 1) + " field(s), expected "
                    + (n - 1));
        }
        return w;
    }

    private static void noRest(String rest, String[] w, int n) throws ConfigException {
        count(w, n);
        if (rest != null) {
            throw new ConfigException("config sync message '" + w[0] + "' with trailing text");
        }
    }

    private static String need(String rest) throws ConfigException {
        if (rest == null) {
            throw new ConfigException("config sync message without its body");
        }
        return rest;
    }

    private static String need(String[] w, String rest) throws ConfigException {
        return need(rest);
    }

    private static ConfigVersion version(String[] w, int i) throws ConfigException {
        long c;
        try {
            c = Long.parseLong(w[i]);
        } catch (NumberFormatException e) {
            throw new ConfigException("version counter '" + clip(w[i]) + "' is not a number");
        }
        return new ConfigVersion(c, w[i + 1]);
    }

    private static String clip(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }
}
