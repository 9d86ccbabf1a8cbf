package dev.tandem.linux;

/** Linux x86_64 errno numbers that Tandem's calls can return, with their names. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENOBUFS = 105;
    public static final int EADDRNOTAVAIL = 99;

    private Errno() {}

    public static String name(int e) {
        return switch (e) {
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 3 -> "ESRCH";
            case 4 -> "EINTR";
            case 6 -> "ENXIO";
            case 9 -> "EBADF";
            case 11 -> "EAGAIN";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES";
            case 14 -> "EFAULT";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 19 -> "ENODEV";
            case 22 -> "EINVAL";
            case 24 -> "EMFILE";
            case 90 -> "EMSGSIZE";
            case 92 -> "ENOPROTOOPT";
            case 93 -> "EPROTONOSUPPORT";
            case 95 -> "EOPNOTSUPP";
            case 97 -> "EAFNOSUPPORT";
            case 98 -> "EADDRINUSE";
            case 99 -> "EADDRNOTAVAIL";
            case 100 -> "ENETDOWN";
            case 101 -> "ENETUNREACH";
            case 105 -> "ENOBUFS";
            case 107 -> "ENOTCONN";
            case 110 -> "ETIMEDOUT";
            default -> "errno " + e;
        };
    }

    public static String describe(int e) {
        return switch (e) {
            case 1 -> "operation not permitted";
            case 2 -> "no such file or directory";
            case 9 -> "bad file descriptor";
            case 11 -> "try again";
            case 17 -> "already exists";
            case 19 -> "no such device";
            case 22 -> "invalid argument";
            case 99 -> "address not available";
            case 100 -> "network is down";
            case 101 -> "network unreachable";
            case 105 -> "no buffer space";
            default -> "see errno(3)";
        };
    }
}
