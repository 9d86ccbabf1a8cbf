package dev.tandem.core.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The synchronized configuration of a node, as named items (immutable):
 * <ul>
 *   <li>{@value #NFTABLES}: the nftables ruleset text (applied as one transaction);</li>
 *   <li>{@value #TANDEM}: the shared part of Tandem's own config (node-local values excluded);</li>
 *   <li>{@code file:/absolute/path}: a declared file's content, with an optional reload command.</li>
 * </ul>
 * Contents are text (declared files must be UTF-8). An absent item and an item with empty content
 * are different things: absent means "not managed". The hash is the SHA-256 of {@link #canonical()}.
 */
public final class ConfigBundle {
    public static final String NFTABLES = "nftables";
    public static final String TANDEM = "tandem";
    public static final String FILE_PREFIX = "file:";
    static final String MAGIC = "tandem-config 1";

    /** One item's content and, for declared files, the command that makes its service reload it ("" = none). */
    public record Item(String content, String reload) {
        public Item {
            if (content == null) {
                throw new IllegalArgumentException("item content is null");
            }
            reload = reload == null ? "" : reload;
            if (reload.indexOf('\n') >= 0 || reload.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("reload command must be one line: " + reload);
            }
        }

        public static Item of(String content) {
            return new Item(content, "");
        }

        public boolean hasReload() {
            return !reload.isBlank();
        }
    }

    private static final ConfigBundle EMPTY = new ConfigBundle(new TreeMap<>());

    private final SortedMap<String, Item> items;
    private final String canonical;
    private final String hash;

    private ConfigBundle(TreeMap<String, Item> items) {
        this.items = Collections.unmodifiableSortedMap(items);
        this.canonical = encode(this.items);
        this.hash = Text.sha256Hex(canonical);
    }

    public static ConfigBundle empty() {
        return EMPTY;
    }

    public static ConfigBundle of(Map<String, Item> items) {
        TreeMap<String, Item> m = new TreeMap<>();
        items.forEach((k, v) -> {
            checkName(k, v);
            m.put(k, v);
        });
        return new ConfigBundle(m);
    }

    /** The item name of a declared file. */
    public static String fileItem(String path) {
        return FILE_PREFIX + path;
    }

    /**
     * Checks an item name (and that only declared files carry a reload command).
     *
     * @throws ConfigException naming the item
     */
    public static void checkName(String name, Item item) {
        if (name == null) {
            throw new ConfigException("item name is null");
        }
        if (name.equals(NFTABLES) || name.equals(TANDEM)) {
            if (item != null && item.hasReload()) {
                throw new ConfigException(name + ": only declared files have a reload command");
            }
            return;
        }
        if (!name.startsWith(FILE_PREFIX)) {
            throw new ConfigException(name + ": unknown item (expected nftables, tandem or file:/path)");
        }
        String path = name.substring(FILE_PREFIX.length());
        if (!path.startsWith("/") || path.endsWith("/") || path.contains("//") || path.contains("/../")
                || path.endsWith("/..") || path.contains("/./") || path.endsWith("/.")) {
            throw new ConfigException(name + ": a declared file needs a normalized absolute path");
        }
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) < 0x20 || path.charAt(i) == 0x7f) {
                throw new ConfigException(name + ": control character in path");
            }
        }
    }

    public SortedMap<String, Item> items() {
        return items;
    }

    public Optional<Item> item(String name) {
        return Optional.ofNullable(items.get(name));
    }

    /** The ruleset, or "" if nftables is not managed. */
    public String nftables() {
        Item i = items.get(NFTABLES);
        return i == null ? "" : i.content();
    }

    public boolean managesNftables() {
        return items.containsKey(NFTABLES);
    }

    /** The shared Tandem config, or "" if absent. */
    public String tandem() {
        Item i = items.get(TANDEM);
        return i == null ? "" : i.content();
    }

    /** Declared files: absolute path → item, in path order. */
    public Map<String, Item> files() {
        Map<String, Item> out = new LinkedHashMap<>();
        items.forEach((k, v) -> {
            if (k.startsWith(FILE_PREFIX)) {
                out.put(k.substring(FILE_PREFIX.length()), v);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    public ConfigBundle with(String name, Item item) {
        checkName(name, item);
        TreeMap<String, Item> m = new TreeMap<>(items);
        m.put(name, item);
        return new ConfigBundle(m);
    }

    public ConfigBundle without(String name) {
        if (!items.containsKey(name)) {
            return this;
        }
        TreeMap<String, Item> m = new TreeMap<>(items);
        m.remove(name);
        return new ConfigBundle(m);
    }

    public ConfigBundle withNftables(String ruleset) {
        return with(NFTABLES, Item.of(ruleset));
    }

    public ConfigBundle withTandem(String text) {
        return with(TANDEM, Item.of(text));
    }

    public ConfigBundle withFile(String path, String content, String reload) {
        return with(fileItem(path), new Item(content, reload));
    }

    /** SHA-256 (64 hex digits) of the canonical encoding. */
    public String hash() {
        return hash;
    }

    /**
     * The canonical encoding: a header line, then for each item in name order a line
     * {@code item <name chars> <content chars> <reload chars>} followed by name, content and reload,
     * each followed by a newline. Lengths count UTF-16 chars, so decoding needs no escaping.
     */
    public String canonical() {
        return canonical;
    }

    static String encode(Map<String, Item> items) {
        StringBuilder sb = new StringBuilder(MAGIC).append('\n');
        items.forEach((name, it) -> {
            sb.append("item ").append(name.length()).append(' ').append(it.content().length()).append(' ')
                    .append(it.reload().length()).append('\n');
            sb.append(name).append('\n').append(it.content()).append('\n').append(it.reload()).append('\n');
        });
        return sb.toString();
    }

    /** Parses {@link #canonical()} output (strictly: anything else is a ConfigException). */
    public static ConfigBundle decode(String text) {
        Reader r = new Reader(text);
        String header = r.line();
        if (!MAGIC.equals(header)) {
            throw new ConfigException("not a tandem config bundle (header '" + header + "')");
        }
        TreeMap<String, Item> m = new TreeMap<>();
        while (!r.atEnd()) {
            String[] f = r.line().split(" ", -1);
            if (f.length != 4 || !f[0].equals("item")) {
                throw new ConfigException("bad item header at offset " + r.pos);
            }
            String name = r.chunk(Reader.num(f[1]));
            Item it = new Item(r.chunk(Reader.num(f[2])), r.chunk(Reader.num(f[3])));
            checkName(name, it);
            if (m.put(name, it) != null) {
                throw new ConfigException(name + ": item appears twice");
            }
            if (!m.lastKey().equals(name)) {
                throw new ConfigException(name + ": items out of order (not canonical)");
            }
        }
        return new ConfigBundle(m);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfigBundle b && b.hash.equals(hash) && b.canonical.equals(canonical);
    }

    @Override
    public int hashCode() {
        return hash.hashCode();
    }

    @Override
    public String toString() {
        return "ConfigBundle" + items.keySet() + "@" + hash.substring(0, 12);
    }

    /** A cursor over length-prefixed text. */
    static final class Reader {
        final String s;
        int pos;

        Reader(String s) {
            this.s = s;
        }

        boolean atEnd() {
            return pos >= s.length();
        }

        String line() {
            int nl = s.indexOf('\n', pos);
            if (nl < 0) {
                throw new ConfigException("truncated: no end of line after offset " + pos);
            }
            String l = s.substring(pos, nl);
            pos = nl + 1;
            return l;
        }

        /** n chars then a newline. */
        String chunk(int n) {
            if (n < 0 || pos + n >= s.length() || s.charAt(pos + n) != '\n') {
                throw new ConfigException("truncated or corrupt: a " + n + "-char field at offset " + pos);
            }
            String c = s.substring(pos, pos + n);
            pos += n + 1;
            return c;
        }

        static int num(String f) {
            if (!f.matches("0|[1-9][0-9]{0,9}")) {
                throw new ConfigException("bad length '" + f + "'");
            }
            long v = Long.parseLong(f);
            if (v > Integer.MAX_VALUE) {
                throw new ConfigException("length too large: " + f);
            }
            return (int) v;
        }
    }
}
