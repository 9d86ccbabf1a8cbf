package dev.tandem.lab;

/** What happens to the active firewall in a failover scenario. */
public enum Fault {
    /** Host crash: all traffic of the active cut at once (nftables netdev drop), daemon SIGKILLed, links down. */
    CRASH,
    /** The active's LAN link goes down (the daemon sees it). */
    LINK,
    /** SIGTERM: graceful stop. */
    GRACEFUL;

    public static Fault parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "crash" -> CRASH;
            case "link" -> LINK;
            case "graceful" -> GRACEFUL;
            default -> throw new LabException("fault must be crash, link or graceful, got '" + s + "'");
        };
    }
}
