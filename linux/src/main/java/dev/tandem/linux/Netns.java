package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Network namespaces are per thread: a platform thread that entered one creates its sockets there,
 * and those sockets stay there whoever reads them later. Used by tests and the lab.
 */
public final class Netns {
    private static final int O_RDONLY_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MemoryLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETNS = LINKER.downcallHandle(LINKER.defaultLookup().find("setns").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));

    private Netns() {}

    /** Moves the calling (platform) thread into /var/run/netns/NAME, or into the namespace file NAME if it starts with '/'. */
    public static void enterOnCurrentThread(String name) {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("a virtual thread cannot own a namespace: its carrier changes");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            String path = name.startsWith("/") ? name : "/var/run/netns/" + name;
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), O_RDONLY_CLOEXEC, 0);
            if (fd < 0) {
                throw new NativeException("open(" + path + ")", (int) ERRNO.get(st, 0L));
            }
            try {
                int r = (int) SETNS.invokeExact(st, fd, CLONE_NEWNET);
                if (r < 0) {
                    throw new NativeException("setns(" + name + ")", (int) ERRNO.get(st, 0L));
                }
            } finally {
                Libc.close(fd);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Runs work on a fresh platform thread inside the namespace and returns its result. */
    public static <T> T callIn(String name, Callable<T> work) {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("netns-" + name).start(() -> {
            try {
                enterOnCurrentThread(name);
                result.set(work.call());
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        try {
            t.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
        if (t.isAlive()) {
            throw new IllegalStateException("work in namespace " + name + " did not finish within 30 s");
        }
        if (failure.get() instanceof RuntimeException r) {
            throw r;
        }
        if (failure.get() != null) {
            throw new IllegalStateException(failure.get());
        }
        return result.get();
    }
}
