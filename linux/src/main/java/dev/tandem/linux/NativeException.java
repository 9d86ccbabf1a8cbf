package dev.tandem.linux;

/** A failed system call: names the call and the errno, e.g. "setsockopt(IP_ADD_MEMBERSHIP) failed: ENODEV". */
public final class NativeException extends RuntimeException {
    private final int errno;

    public NativeException(String call, int errno) {
        super(call + " failed: " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
