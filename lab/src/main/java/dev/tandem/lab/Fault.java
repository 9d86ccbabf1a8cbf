package dev.tandem.lab;

/** What happens to the active firewall in a failover scenario. */
public enum Fault {
    /** Host crash: all traffic of the active cut at once (nftables netdev drop), daemon SIGKILLed, links down. */
    CRASH,
    /** The active's LAN link goes down (the daemon sees it). */
    LINK,
    /** SIGTERM: graceful stop. */
    GRACEFUL,
    /** The active's daemon is killed with SIGKILL; the host stays up (its VIPs stay on the interfaces). */
    DAEMON_CRASH;

    public static Fault parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "crash" -> CRASH;
            case "link" -> LINK;
            case "graceful" -> GRACEFUL;
            case "daemon-crash" -> DAEMON_CRASH;
            default -> throw new LabException("fault must be crash, link, graceful or daemon-crash, got '" + s + "'");
        };
    }
}
