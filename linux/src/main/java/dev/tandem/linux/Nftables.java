package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * nftables through libnftables (Debian package libnftables1), bound with java.lang.foreign: the
 * same parser and transaction code as the {@code nft} program, without a process per call.
 *
 * <p>Every call creates its own {@code nft_ctx}, runs one buffer and frees the context, all on
 * the calling thread. libnftables opens its netlink socket in the namespace of the thread that
 * uses the context, so a call acts in the calling thread's network namespace (see {@link Netns});
 * a context is never shared between threads or namespaces. Calls are serialized process-wide:
 * libnftables keeps some global state and is not documented as thread-safe.
 *
 * <p>A buffer is one netlink batch: the kernel commits all of it or none of it. So
 * {@link #apply} is atomic, and an error leaves the previous ruleset untouched.
 */
public final class Nftables {
    private static final String LIB = "libnftables.so.1";
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout P = ValueLayout.ADDRESS;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;

    private static final class Lib {
        static final MethodHandle CTX_NEW;
        static final MethodHandle CTX_FREE;
        static final MethodHandle BUFFER_OUTPUT;
        static final MethodHandle BUFFER_ERROR;
        static final MethodHandle GET_OUTPUT;
        static final MethodHandle GET_ERROR;
        static final MethodHandle RUN;
        static final MethodHandle RUN_FILE;
        static final MethodHandle SET_DRY_RUN;

        static {
            SymbolLookup lib = SymbolLookup.libraryLookup(LIB, Arena.global());
            CTX_NEW = bind(lib, "nft_ctx_new", FunctionDescriptor.of(P, I));
            CTX_FREE = bind(lib, "nft_ctx_free", FunctionDescriptor.ofVoid(P));
            BUFFER_OUTPUT = bind(lib, "nft_ctx_buffer_output", FunctionDescriptor.of(I, P));
            BUFFER_ERROR = bind(lib, "nft_ctx_buffer_error", FunctionDescriptor.of(I, P));
            GET_OUTPUT = bind(lib, "nft_ctx_get_output_buffer", FunctionDescriptor.of(P, P));
            GET_ERROR = bind(lib, "nft_ctx_get_error_buffer", FunctionDescriptor.of(P, P));
            RUN = bind(lib, "nft_run_cmd_from_buffer", FunctionDescriptor.of(I, P, P));
            RUN_FILE = bind(lib, "nft_run_cmd_from_filename", FunctionDescriptor.of(I, P, P));
            SET_DRY_RUN = bind(lib, "nft_ctx_set_dry_run", FunctionDescriptor.ofVoid(P, ValueLayout.JAVA_BOOLEAN));
        }

        private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(lib.find(name)
                    .orElseThrow(() -> new IllegalStateException(LIB + " has no " + name)), fd);
        }
    }

    /** What one buffer produced: success, nft's standard output and its error text. */
    public record Result(boolean ok, String output, String error) {}

    /** Thrown when the kernel or the parser refuses a ruleset; the message is nft's error text. */
    public static final class NftablesException extends RuntimeException {
        public NftablesException(String message) {
            super(message);
        }
    }

    private Nftables() {}

    /** Whether libnftables can be loaded here (Debian package libnftables1). */
    public static boolean available() {
        try {
            return Lib.RUN != null;
        } catch (Throwable t) {
            return false;
        }
    }

    /**
     * Runs {@code commands} as one transaction (nft's input syntax: a whole ruleset file, or
     * commands one per line). With {@code dryRun}, the kernel validates the batch and commits
     * nothing (nft -c).
     *
     * <p>The text goes through an anonymous memory file (memfd) read with
     * {@code nft_run_cmd_from_filename}, not {@code nft_run_cmd_from_buffer}: libnftables 1.0.6
     * quotes the first line of a buffer in its error messages whatever line is wrong, and gives
     * no line number, while file input yields "FILE:LINE:COLUMN" and the right line.
     */
    public static Result run(String commands, boolean dryRun) {
        LOCK.lock();
        int fd = -1;
        try (Arena a = Arena.ofConfined()) {
            fd = Libc.memfdCreate("tandem-nft");
            MemorySegment text = a.allocateFrom(commands);
            Libc.writeAll(fd, text, text.byteSize() - 1, "nftables memfd");
            String name = "/proc/self/fd/" + fd;
            Result r = call(a, a.allocateFrom(name), dryRun, true);
            return new Result(r.ok(), r.output(), r.error().replace(name + ":", "ruleset:"));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            Libc.close(fd);
            LOCK.unlock();
        }
    }

    /** A read-only command (list ...) from a buffer. */
    private static Result command(String command) {
        LOCK.lock();
        try (Arena a = Arena.ofConfined()) {
            return call(a, a.allocateFrom(command), false, false);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            LOCK.unlock();
        }
    }

    private static Result call(Arena a, MemorySegment arg, boolean dryRun, boolean file) throws Throwable {
        MemorySegment ctx = (MemorySegment) Lib.CTX_NEW.invokeExact(0);
        if (ctx.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("nft_ctx_new failed");
        }
        try {
            if ((int) Lib.BUFFER_OUTPUT.invokeExact(ctx) != 0 || (int) Lib.BUFFER_ERROR.invokeExact(ctx) != 0) {
                throw new IllegalStateException("nft_ctx_buffer_output/error failed");
            }
            Lib.SET_DRY_RUN.invokeExact(ctx, dryRun);
            int rc = file ? (int) Lib.RUN_FILE.invokeExact(ctx, arg) : (int) Lib.RUN.invokeExact(ctx, arg);
            String out = string((MemorySegment) Lib.GET_OUTPUT.invokeExact(ctx));
            String err = string((MemorySegment) Lib.GET_ERROR.invokeExact(ctx));
            return new Result(rc == 0, out, err);
        } finally {
            Lib.CTX_FREE.invokeExact(ctx);
        }
    }

    private static String string(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? "" : p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Check mode: null if the kernel would accept {@code ruleset} as one transaction, else nft's error text. */
    public static String check(String ruleset) {
        Result r = run(ruleset, true);
        return r.ok() ? null : errorText(r, ruleset);
    }

    /**
     * Applies {@code ruleset} as one transaction, exactly as written (start it with
     * {@code flush ruleset} or {@code flush table ...} to replace rather than add).
     *
     * @throws NftablesException with nft's error text; the running ruleset is then untouched
     */
    public static void apply(String ruleset) {
        Result r = run(ruleset, false);
        if (!r.ok()) {
            throw new NftablesException(errorText(r, ruleset));
        }
    }

    /**
     * The commands that replace the whole ruleset by {@code ruleset} in one transaction, except
     * the tables whose name starts with {@code keepPrefix} (Tandem's own, e.g. "tandem_"); with a
     * null prefix, everything ({@code flush ruleset}). The existing tables are read first: run the
     * result on the same thread, and check or apply it right away.
     */
    public static String replacement(String ruleset, String keepPrefix) {
        if (keepPrefix == null) {
            return "flush ruleset\n" + ruleset;
        }
        StringBuilder b = new StringBuilder();
        for (String t : tables()) {
            String[] f = t.split(" ");
            if (!f[1].startsWith(keepPrefix)) {
                b.append("delete table ").append(t).append('\n');
            }
        }
        return b.append(ruleset).toString();
    }

    /** Check mode for {@link #replace}. */
    public static String checkReplace(String ruleset, String keepPrefix) {
        return check(replacement(ruleset, keepPrefix));
    }

    /** Replaces the ruleset (but the tables starting with {@code keepPrefix}) atomically. */
    public static void replace(String ruleset, String keepPrefix) {
        apply(replacement(ruleset, keepPrefix));
    }

    /** The running ruleset, as {@code nft list ruleset} prints it. */
    public static String list() {
        Result r = command("list ruleset");
        if (!r.ok()) {
            throw new NftablesException(errorText(r, null));
        }
        return r.output();
    }

    /**
     * "family name" of every table, in kernel order. Read with one nfnetlink dump of the tables only:
     * libnftables 1.0.6's "list tables" fetches every rule too (270 ms beside 10,000 rules).
     */
    public static List<String> tables() {
        List<String> out = new ArrayList<>();
        try (NetlinkSocket s = new NetlinkSocket(NetlinkSocket.NETLINK_NETFILTER, 0, 1 << 20)) {
            // nfgenmsg: family AF_UNSPEC (every family), version 0, resource id 0
            for (NetlinkMessages.Message m : s.dump(NFT_MSG_GETTABLE, new byte[4], 1)) {
                if (m.type() != NFT_MSG_NEWTABLE || m.payload().length < 4) {
                    continue;
                }
                String family = family(m.payload()[0] & 0xff);
                try {
                    byte[] name = NetlinkMessages.attributes(m.payload(), 4).get(NFTA_TABLE_NAME);
                    if (family != null && name != null) {
                        int len = 0;
                        while (len < name.length && name[len] != 0) {
                            len++;
                        }
                        out.add(family + " " + new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8));
                    }
                } catch (NetlinkMessages.MalformedMessageException e) {
                    throw new NftablesException("malformed table message from the kernel: " + e.getMessage());
                }
            }
        }
        return out;
    }

    private static final int NFNL_SUBSYS_NFTABLES = 10;
    private static final int NFT_MSG_NEWTABLE = NFNL_SUBSYS_NFTABLES << 8;
    private static final int NFT_MSG_GETTABLE = (NFNL_SUBSYS_NFTABLES << 8) | 1;
    private static final int NFTA_TABLE_NAME = 1;

    /** nft's name of an NFPROTO_* family. */
    private static String family(int nfproto) {
        return switch (nfproto) {
            case 1 -> "inet";
            case 2 -> "ip";
            case 3 -> "arp";
            case 5 -> "netdev";
            case 7 -> "bridge";
            case 10 -> "ip6";
            default -> null;
        };
    }

    /** nft's error text ("ruleset:LINE:COLUMN: Error: ...", the line, a caret). */
    static String errorText(Result r, String input) {
        String e = r.error().strip();
        return e.isEmpty() ? "nftables refused the ruleset (no error text)" : e;
    }
}
