package dev.tandem.node.configsync;

import dev.tandem.core.config.ConfigBundle;
import dev.tandem.core.config.ConfigDelta;
import dev.tandem.core.config.ConfigException;
import dev.tandem.core.config.ConfigVersion;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The versions this node ran, on disk: one file per version in a directory, the newest
 * {@code keep} kept. File name {@code <counter, 20 digits>-<hash>.tcfg}; content: the line
 * {@code tandem-config-version <counter> <hash>} followed by the bundle's canonical encoding
 * (so the hash can be checked on load). Files are written atomically (temp file, fsync, rename,
 * fsync of the directory). Entries that do not parse or whose hash does not match are skipped
 * with a message naming the file; they are left on disk for inspection.
 */
public final class ConfigHistory {
    static final String HEADER = "tandem-config-version";
    private static final Pattern NAME = Pattern.compile("(\\d{20})-([0-9a-f]{64})\\.tcfg");

    public record Entry(ConfigVersion version, ConfigBundle bundle, Path file) {}

    private final Path dir;
    private final int keep;
    private final Consumer<String> warn;
    private final TreeMap<Long, Entry> entries = new TreeMap<>();
    private final List<String> problems = new ArrayList<>();

    private ConfigHistory(Path dir, int keep, Consumer<String> warn) {
        this.dir = dir;
        this.keep = keep;
        this.warn = warn;
    }

    /** Opens (creating the directory if needed) and loads the history; {@code warn} hears about skipped entries. */
    public static ConfigHistory open(Path dir, int keep, Consumer<String> warn) throws IOException {
        if (keep < 1) {
            throw new IllegalArgumentException("history must keep at least one version");
        }
        Files.createDirectories(dir);
        ConfigHistory h = new ConfigHistory(dir, keep, warn);
        h.load();
        return h;
    }

    private void load() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".tcfg")).sorted().toList();
        }
        for (Path f : files) {
            try {
                Entry e = read(f);
                Entry prev = entries.put(e.version().counter(), e);
                if (prev != null) {
                    skip(f, "a second entry for counter " + e.version().counter() + " (kept " + prev.file().getFileName()
                            + ")");
                    entries.put(prev.version().counter(), prev);
                }
            } catch (ConfigException | IOException e) {
                skip(f, e.getMessage());
            }
        }
    }

    private void skip(Path f, String why) {
        String m = "config history: skipped " + f + ": " + why;
        problems.add(m);
        warn.accept(m);
    }

    static Entry read(Path f) throws IOException {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (!m.matches()) {
            throw new ConfigException("file name is not <counter>-<sha256>.tcfg");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(f)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ConfigException("not UTF-8");
        }
        int nl = text.indexOf('\n');
        if (nl < 0) {
            throw new ConfigException("empty or truncated");
        }
        String[] h = text.substring(0, nl).split(" ", -1);
        if (h.length != 3 || !h[0].equals(HEADER)) {
            throw new ConfigException("first line is not '" + HEADER + " <counter> <hash>'");
        }
        ConfigVersion v;
        try {
            v = new ConfigVersion(Long.parseLong(h[1]), h[2]);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("bad version line: " + e.getMessage());
        }
        if (v.counter() != Long.parseLong(m.group(1)) || !v.hash().equals(m.group(2))) {
            throw new ConfigException("file name does not match its version " + v);
        }
        ConfigBundle b = ConfigBundle.decode(text.substring(nl + 1));
        if (!b.hash().equals(v.hash())) {
            throw new ConfigException("content hash " + b.hash().substring(0, 12) + " is not the recorded "
                    + v.hash().substring(0, 12) + " (damaged)");
        }
        return new Entry(v, b, f);
    }

    /** Messages about entries skipped when the history was loaded. */
    public List<String> problems() {
        return Collections.unmodifiableList(problems);
    }

    public Path directory() {
        return dir;
    }

    public Optional<Entry> latest() {
        return entries.isEmpty() ? Optional.empty() : Optional.of(entries.lastEntry().getValue());
    }

    public Optional<Entry> get(long counter) {
        return Optional.ofNullable(entries.get(counter));
    }

    /** Valid versions, oldest first. */
    public List<ConfigVersion> versions() {
        return entries.values().stream().map(Entry::version).toList();
    }

    /**
     * Records a version this node now runs. Recording the latest version again does nothing; an
     * older counter, or the same counter with another hash, is refused (versions never go back:
     * a rollback is a new version with old content).
     */
    public void record(ConfigVersion v, ConfigBundle b) throws IOException {
        if (!v.hash().equals(b.hash())) {
            throw new IllegalArgumentException("bundle does not have the hash of version " + v);
        }
        Optional<Entry> last = latest();
        if (last.isPresent()) {
            if (last.get().version().equals(v)) {
                return;
            }
            ConfigVersion.requireForward(last.get().version(), v, false);
        }
        Path f = dir.resolve(String.format("%020d-%s.tcfg", v.counter(), v.hash()));
        String text = HEADER + " " + v.counter() + " " + v.hash() + "\n" + b.canonical();
        AtomicFiles.write(f, text.getBytes(StandardCharsets.UTF_8), null);
        entries.put(v.counter(), new Entry(v, b, f));
        while (entries.size() > keep) {
            Entry old = entries.pollFirstEntry().getValue();
            try {
                Files.deleteIfExists(old.file());
            } catch (IOException e) {
                warn.accept("config history: could not delete " + old.file() + ": " + e.getMessage());
            }
        }
    }

    /** What changed from one recorded version to another (for {@code tandem config diff}). */
    public ConfigDelta diff(long from, long to) {
        Entry a = get(from).orElseThrow(() -> new IllegalArgumentException("no version " + from + " in the history"));
        Entry b = get(to).orElseThrow(() -> new IllegalArgumentException("no version " + to + " in the history"));
        return ConfigDelta.between(a.version(), a.bundle(), b.version(), b.bundle());
    }

}
