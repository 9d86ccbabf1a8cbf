package dev.tandem.core.config;

import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What changed between two versions: the items added or changed (whole items) and the names of
 * the items removed. {@link #apply} checks the base's hash before and the target's hash after.
 */
public record ConfigDelta(ConfigVersion base, ConfigVersion target, SortedMap<String, ConfigBundle.Item> changed,
        SortedSet<String> removed) {
    static final String MAGIC = "tandem-config-delta 1";

    public ConfigDelta {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(target, "target");
        changed = Collections.unmodifiableSortedMap(new TreeMap<>(changed));
        removed = Collections.unmodifiableSortedSet(new TreeSet<>(removed));
        for (String r : removed) {
            if (changed.containsKey(r)) {
                throw new ConfigException(r + ": both changed and removed in one delta");
            }
        }
        changed.forEach(ConfigBundle::checkName);
    }

    /** The delta that turns {@code from} (at version {@code base}) into {@code to} (at {@code target}). */
    public static ConfigDelta between(ConfigVersion base, ConfigBundle from, ConfigVersion target, ConfigBundle to) {
        if (!base.hash().equals(from.hash())) {
            throw new ConfigException("base bundle does not have the hash of version " + base);
        }
        if (!target.hash().equals(to.hash())) {
            throw new ConfigException("target bundle does not have the hash of version " + target);
        }
        TreeMap<String, ConfigBundle.Item> changed = new TreeMap<>();
        TreeSet<String> removed = new TreeSet<>();
        to.items().forEach((k, v) -> {
            if (!v.equals(from.items().get(k))) {
                changed.put(k, v);
            }
        });
        for (String k : from.items().keySet()) {
            if (!to.items().containsKey(k)) {
                removed.add(k);
            }
        }
        return new ConfigDelta(base, target, changed, removed);
    }

    public boolean isEmpty() {
        return changed.isEmpty() && removed.isEmpty();
    }

    /**
     * The target bundle.
     *
     * @throws ConfigException if {@code baseBundle} is not the base version's content, if a removed
     *     item is absent, or if the result does not have the target's hash
     */
    public ConfigBundle apply(ConfigBundle baseBundle) {
        if (!baseBundle.hash().equals(base.hash())) {
            throw new ConfigException("delta " + base + " -> " + target + " does not apply: local content has hash "
                    + baseBundle.hash().substring(0, 12) + ", not the base's");
        }
        TreeMap<String, ConfigBundle.Item> m = new TreeMap<>(baseBundle.items());
        for (String r : removed) {
            if (m.remove(r) == null) {
                throw new ConfigException(r + ": removed by delta " + base + " -> " + target + " but absent");
            }
        }
        m.putAll(changed);
        ConfigBundle out = ConfigBundle.of(m);
        if (!out.hash().equals(target.hash())) {
            throw new ConfigException("delta " + base + " -> " + target + " produced hash "
                    + out.hash().substring(0, 12) + ", not the target's");
        }
        return out;
    }

    /** Names of every item the delta touches, in order. */
    public SortedSet<String> touched() {
        TreeSet<String> t = new TreeSet<>(changed.keySet());
        t.addAll(removed);
        return Collections.unmodifiableSortedSet(t);
    }

    /** Text encoding: header, base and target lines, the changed items as in a bundle, then removals. */
    public String encode() {
        StringBuilder sb = new StringBuilder(MAGIC).append('\n');
        sb.append("base ").append(base.counter()).append(' ').append(base.hash()).append('\n');
        sb.append("target ").append(target.counter()).append(' ').append(target.hash()).append('\n');
        String items = ConfigBundle.encode(changed);
        sb.append(items, ConfigBundle.MAGIC.length() + 1, items.length());
        for (String r : removed) {
            sb.append("remove ").append(r.length()).append('\n').append(r).append('\n');
        }
        return sb.toString();
    }

    public static ConfigDelta decode(String text) {
        ConfigBundle.Reader r = new ConfigBundle.Reader(text);
        if (!MAGIC.equals(r.line())) {
            throw new ConfigException("not a tandem config delta");
        }
        ConfigVersion base = versionLine(r.line(), "base");
        ConfigVersion target = versionLine(r.line(), "target");
        TreeMap<String, ConfigBundle.Item> changed = new TreeMap<>();
        TreeSet<String> removed = new TreeSet<>();
        while (!r.atEnd()) {
            String[] f = r.line().split(" ", -1);
            if (f.length == 4 && f[0].equals("item")) {
                String name = r.chunk(ConfigBundle.Reader.num(f[1]));
                changed.put(name, new ConfigBundle.Item(r.chunk(ConfigBundle.Reader.num(f[2])),
                        r.chunk(ConfigBundle.Reader.num(f[3]))));
            } else if (f.length == 2 && f[0].equals("remove")) {
                removed.add(r.chunk(ConfigBundle.Reader.num(f[1])));
            } else {
                throw new ConfigException("bad delta line at offset " + r.pos);
            }
        }
        return new ConfigDelta(base, target, changed, removed);
    }

    static ConfigVersion versionLine(String line, String key) {
        String[] f = line.split(" ", -1);
        if (f.length != 3 || !f[0].equals(key)) {
            throw new ConfigException("expected '" + key + " <counter> <hash>', got '" + line + "'");
        }
        try {
            return new ConfigVersion(Long.parseLong(f[1]), f[2]);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "ConfigDelta[" + base + " -> " + target + ", changed " + changed.keySet() + ", removed " + removed + "]";
    }
}
