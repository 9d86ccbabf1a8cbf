package dev.tandem.node.api;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * API tokens, persisted in one text file (mode 0600), one token a line:
 *
 * <pre>NAME ROLE CREATED_MS SALT HASH</pre>
 *
 * where HASH is SHA-256(SALT || token) and SALT 16 random bytes, both base64url. The token itself is never stored:
 * {@link #create} returns it once. A token is {@code tdm_} and 32 random bytes (base64url), so hashing it with a salt
 * is enough (no slow KDF needed for 256 bits of entropy). Checks compare every entry's hash in constant time.
 *
 * <p>The store re-reads the file when it changes (inode, size or modification time), so tokens created or revoked with
 * the CLI take effect on the running daemon at its next request. Changes are written to a temporary file and renamed
 * over the old one, under a lock on {@code FILE.lock}.
 */
public final class TokenStore {
    /** The longest token name. */
    public static final int MAX_NAME = 64;
    /** The most tokens a file may hold. */
    public static final int MAX_TOKENS = 1000;
    private static final int MAX_TOKEN_CHARS = 256;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final System.Logger LOG = System.getLogger("tandem.api");

    /** Who a token belongs to. */
    public record Principal(String name, Role role) {}

    /** A stored token (without its secret). */
    public record Entry(String name, Role role, Instant created) {}

    private record Stored(String name, Role role, long createdMs, byte[] salt, byte[] hash) {}

    private record Stamp(Object key, long size, long mtime) {}

    private final Path file;
    private volatile List<Stored> tokens = List.of();
    private volatile Stamp stamp;

    private TokenStore(Path file) {
        this.file = file;
    }

    /** The store in {@code file} (which need not exist yet: then there are no tokens). */
    public static TokenStore open(Path file) throws IOException {
        TokenStore s = new TokenStore(Objects.requireNonNull(file));
        s.reload(true);
        return s;
    }

    public Path file() {
        return file;
    }

    /** The token's owner, or empty when it is not a valid token (unknown, revoked, malformed). */
    public Optional<Principal> authenticate(String token) {
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
            return Optional.empty();
        }
        try {
            reload(false);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "api tokens: cannot read " + file + ": " + e.getMessage()
                    + "; refusing all tokens until it is readable");
            tokens = List.of();
            stamp = null;
        }
        byte[] t = token.getBytes(StandardCharsets.UTF_8);
        Stored found = null;
        for (Stored s : tokens) { // every entry, so the time does not tell which one matched
            if (MessageDigest.isEqual(hash(s.salt(), t), s.hash()) && found == null) {
                found = s;
            }
        }
        return found == null ? Optional.empty() : Optional.of(new Principal(found.name(), found.role()));
    }

    /** The tokens, oldest first. */
    public List<Entry> list() throws IOException {
        reload(false);
        return tokens.stream().map(s -> new Entry(s.name(), s.role(), Instant.ofEpochMilli(s.createdMs()))).toList();
    }

    /**
     * A new token named {@code name}; returns the token (shown once: only its hash is kept).
     *
     * @throws IllegalArgumentException when the name is not valid or is taken
     */
    public String create(String name, Role role) throws IOException {
        checkName(name);
        Objects.requireNonNull(role, "role");
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String token = "tdm_" + B64.encodeToString(secret);
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        Stored s = new Stored(name, role, System.currentTimeMillis(), salt, hash(salt, token.getBytes(StandardCharsets.UTF_8)));
        modify(list -> {
            if (list.stream().anyMatch(x -> x.name().equals(name))) {
                throw new IllegalArgumentException("a token named '" + name + "' exists already (revoke it first)");
            }
            if (list.size() >= MAX_TOKENS) {
                throw new IllegalArgumentException("the file holds " + MAX_TOKENS + " tokens already");
            }
            list.add(s);
            return true;
        });
        return token;
    }

    /** Removes the token named {@code name}; false when there is none. */
    public boolean revoke(String name) throws IOException {
        return modify(list -> list.removeIf(x -> x.name().equals(name)));
    }

    /** A token name: 1 to 64 of letters, digits, {@code . _ @ -}. */
    public static void checkName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9._@-]{1," + MAX_NAME + "}")) {
            throw new IllegalArgumentException("a token name is 1 to " + MAX_NAME
                    + " letters, digits, '.', '_', '@' or '-', not '" + name + "'");
        }
    }

    private interface Change {
        boolean apply(List<Stored> list) throws IOException;
    }

    private synchronized boolean modify(Change change) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path lockFile = parent.resolve(file.getFileName() + ".lock");
        try (FileChannel lc = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lc.lock()) {
            reload(true);
            List<Stored> list = new ArrayList<>(tokens);
            if (!change.apply(list)) {
                return false;
            }
            StringBuilder b = new StringBuilder("# tandem API tokens: NAME ROLE CREATED_MS SALT SHA256(SALT||TOKEN)\n"
                    + "# manage with: tandem token create|list|revoke --file " + file + "\n");
            for (Stored s : list) {
                b.append(s.name()).append(' ').append(s.role().word()).append(' ').append(s.createdMs()).append(' ')
                        .append(B64.encodeToString(s.salt())).append(' ').append(B64.encodeToString(s.hash())).append('\n');
            }
            Path tmp = parent.resolve(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, b, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SYNC);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            reload(true);
            return true;
        }
    }

    private void reload(boolean force) throws IOException {
        Stamp now;
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            now = new Stamp(a.fileKey(), a.size(), a.lastModifiedTime().toMillis());
        } catch (NoSuchFileException e) {
            tokens = List.of();
            stamp = null;
            return;
        }
        if (!force && now.equals(stamp)) {
            return;
        }
        synchronized (this) {
            List<Stored> out = new ArrayList<>();
            int n = 0;
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                n++;
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) {
                    continue;
                }
                String[] f = l.split("\\s+");
                try {
                    if (f.length != 5) {
                        throw new IllegalArgumentException("expected 5 fields, found " + f.length);
                    }
                    checkName(f[0]);
                    Stored s = new Stored(f[0], Role.parse(f[1]), Long.parseLong(f[2]), B64D.decode(f[3]), B64D.decode(f[4]));
                    if (s.hash().length != 32 || s.salt().length < 8) {
                        throw new IllegalArgumentException("bad salt or hash length");
                    }
                    if (out.size() < MAX_TOKENS) {
                        out.add(s);
                    }
                } catch (IllegalArgumentException e) { // NumberFormatException too
                    LOG.log(System.Logger.Level.WARNING, "api tokens: " + file + " line " + n + " ignored: " + e.getMessage());
                }
            }
            tokens = List.copyOf(out);
            stamp = now;
        }
    }

    private static byte[] hash(byte[] salt, byte[] token) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(salt);
            return d.digest(token);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
