package dev.tandem.node.config;

import dev.tandem.core.ha.HaTimers;
import dev.tandem.core.health.HealthSpec;
import dev.tandem.core.net.Cidr;
import dev.tandem.core.net.IpAddress;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads and validates a cluster file (docs/configuration.md). Reports every error found, each with
 * its field path; never throws for bad input.
 */
public final class ConfigLoader {
    private static final int MAX_BYTES = 1 << 20;
    private static final Pattern NODE_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,30}");
    private static final Pattern IFACE = Pattern.compile("(?!\\.{1,2}$)[A-Za-z0-9_.:@-]{1,15}");
    static final String INTERNAL = "internal error while checking the file (please report it): ";

    /** Either a config (errors empty) or the errors (config null). */
    public record Result(ClusterConfig config, List<ConfigError> errors) {
        public boolean ok() {
            return errors.isEmpty();
        }
    }

    private final List<ConfigError> errors = new ArrayList<>();
    /** Some segment could not be read: its logical interface is unknown, so "not used" would be a guess. */
    private boolean segmentsIncomplete;

    private ConfigLoader() {}

    public static Result load(Path file) {
        try {
            if (Files.size(file) > MAX_BYTES) {
                return new Result(null, List.of(new ConfigError("", file + " is larger than 1 MiB")));
            }
            return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            return new Result(null, List.of(new ConfigError("", "cannot read " + file + ": " + e.getMessage())));
        }
    }

    public static Result parse(String text, String source) {
        LoaderOptions opts = new LoaderOptions();
        opts.setMaxAliasesForCollections(10);
        opts.setCodePointLimit(MAX_BYTES);
        opts.setAllowDuplicateKeys(false);
        opts.setNestingDepthLimit(20);
        Object root;
        try {
            root = new Yaml(new SafeConstructor(opts)).load(text);
        } catch (MarkedYAMLException e) {
            String where = e.getProblemMark() == null ? "" : " at line " + (e.getProblemMark().getLine() + 1)
                    + ", column " + (e.getProblemMark().getColumn() + 1);
            return new Result(null, List.of(new ConfigError("", "not valid YAML" + where + ": " + e.getProblem())));
        } catch (YAMLException | IllegalArgumentException | StackOverflowError e) {
            return new Result(null, List.of(new ConfigError("", "not valid YAML: " + e.getMessage())));
        }
        ConfigLoader l = new ConfigLoader();
        ClusterConfig c = null;
        try {
            c = l.cluster(root);
        } catch (RuntimeException e) {
            // a bug in this class, never expected: still a result, and one the fuzz test can see
            l.errors.add(new ConfigError("", INTERNAL + e));
        }
        return l.errors.isEmpty() ? new Result(c, List.of()) : new Result(null, List.copyOf(l.errors));
    }

    private void error(String path, String msg) {
        errors.add(new ConfigError(path, msg));
    }

    // ------------------------------------------------------------------ typed access

    @SuppressWarnings("unchecked")
    private Map<String, Object> map(Object o, String path, Set<String> allowed, Set<String> required) {
        if (!(o instanceof Map<?, ?> m)) {
            error(path, o == null ? "missing (a mapping is required)" : "must be a mapping, got " + kind(o));
            return null;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof String k)) {
                error(path, "key " + e.getKey() + " is not a string");
                continue;
            }
            if (allowed != null && !allowed.contains(k)) {
                error(join(path, k), "unknown key (allowed: " + String.join(", ", allowed) + ")");
                continue;
            }
            out.put(k, e.getValue());
        }
        if (required != null) {
            for (String r : required) {
                if (!out.containsKey(r)) {
                    error(join(path, r), "missing (required)");
                }
            }
        }
        return out;
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static String kind(Object o) {
        return o instanceof Map ? "a mapping" : o instanceof List ? "a list" : o instanceof String ? "text '" + o + "'"
                : o instanceof Boolean ? "a boolean" : o instanceof Number ? String.valueOf(o)
                : "a " + o.getClass().getSimpleName();
    }

    private String string(Map<String, Object> m, String key, String path, String def) {
        Object v = m.get(key);
        if (v == null) {
            return def;
        }
        if (!(v instanceof String s) || s.isBlank()) {
            error(join(path, key), "must be non-empty text, got " + kind(v));
            return def;
        }
        return s;
    }

    private long number(Map<String, Object> m, String key, String path, long def, long min, long max) {
        Long n = checkedNumber(m, key, path, min, max);
        return n == null ? def : n;
    }

    /** The value if present and valid; null (and an error if present) otherwise. */
    private Long checkedNumber(Map<String, Object> m, String key, String path, long min, long max) {
        Object v = m.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof BigInteger big) {
            error(join(path, key), big + " is out of range " + min + ".." + max);
            return null;
        }
        if (!(v instanceof Integer || v instanceof Long)) {
            error(join(path, key), "must be a whole number, got " + kind(v));
            return null;
        }
        long n = ((Number) v).longValue();
        if (n < min || n > max) {
            error(join(path, key), n + " is out of range " + min + ".." + max);
            return null;
        }
        return n;
    }

    private boolean bool(Map<String, Object> m, String key, String path, boolean def) {
        Object v = m.get(key);
        if (v == null) {
            return def;
        }
        if (!(v instanceof Boolean b)) {
            error(join(path, key), "must be true or false, got " + kind(v));
            return def;
        }
        return b;
    }

    private String choice(Map<String, Object> m, String key, String path, String def, Set<String> allowed) {
        String s = string(m, key, path, def);
        if (s != null && !allowed.contains(s)) {
            error(join(path, key), "'" + s + "' is not one of " + allowed);
            return def;
        }
        return s;
    }

    private List<?> list(Object o, String path) {
        if (!(o instanceof List<?> l)) {
            error(path, o == null ? "missing (a list is required)" : "must be a list, got " + kind(o));
            return List.of();
        }
        return l;
    }

    // ------------------------------------------------------------------ sections

    private ClusterConfig cluster(Object root) {
        Map<String, Object> top = map(root, "", Set.of("cluster", "virtual_groups", "monitors", "operator", "nodes"),
                Set.of("cluster", "virtual_groups", "nodes"));
        if (top == null) {
            return null;
        }
        ClusterSettings settings = settings(top.get("cluster"));
        List<VirtualGroupConfig> vgs = groups(top.get("virtual_groups"));
        MonitorsConfig monitors = top.containsKey("monitors") ? monitors(top.get("monitors")) : MonitorsConfig.none();
        Map<String, NodeConfig> nodes = nodes(top.get("nodes"), vgs, monitors);
        OperatorConfig operator = top.containsKey("operator") ? operator(top.get("operator")) : OperatorConfig.defaults();
        return new ClusterConfig(settings, vgs, nodes, monitors, operator);
    }

    private ClusterSettings settings(Object o) {
        String p = "cluster";
        Map<String, Object> m = map(o, p, Set.of("name", "profile", "timers", "preempt", "accept", "checksum", "announce",
                "run_dir", "security", "channel_port", "sessions", "config_sync", "realtime_priority"), Set.of("name"));
        if (m == null) {
            return null;
        }
        String name = string(m, "name", p, "cluster");
        String profile = choice(m, "profile", p, "default", Set.of("default", "aggressive"));
        HaTimers base = HaTimers.profile(profile);
        long advert = base.advertIntervalMs();
        long election = -1;
        long hold = base.preemptionHoldMs();
        long heartbeat = "aggressive".equals(profile) ? 2 : 100;
        long misses = 3;
        long hello = 1000;
        long silence = -1;
        HealthSpec hp = HealthSpec.profile(profile);
        long promotionHold = base.promotionHoldMs();
        long holdUp = hp.monitorFailHoldUpMs();
        long additional = hp.additionalMasterHoldUpMs();
        long holdDown = hp.monitorFailHoldDownMs();
        long flapMax = hp.flapMax();
        if (m.containsKey("timers")) {
            String tp = join(p, "timers");
            Map<String, Object> t = map(m.get("timers"), tp, Set.of("advert_interval_ms", "election_delay_ms",
                    "preemption_hold_ms", "heartbeat_interval_ms", "heartbeat_misses", "hello_interval_ms",
                    "advert_silence_ms", "promotion_hold_ms", "monitor_fail_hold_up_ms", "additional_master_hold_up_ms",
                    "monitor_fail_hold_down_ms", "flap_max"), null);
            if (t != null) {
                advert = number(t, "advert_interval_ms", tp, advert, 10, 40950);
                if (advert % 10 != 0) {
                    error(join(tp, "advert_interval_ms"), advert + " is not a multiple of 10 (VRRPv3 counts centiseconds)");
                    advert = base.advertIntervalMs();
                }
                election = number(t, "election_delay_ms", tp, -1, 0, 3_600_000);
                hold = number(t, "preemption_hold_ms", tp, hold, 0, 3_600_000);
                heartbeat = number(t, "heartbeat_interval_ms", tp, heartbeat, 1, 10_000);
                misses = number(t, "heartbeat_misses", tp, misses, 1, 100);
                hello = number(t, "hello_interval_ms", tp, hello, 10, 600_000);
                silence = number(t, "advert_silence_ms", tp, -1, 0, 600_000);
                promotionHold = number(t, "promotion_hold_ms", tp, promotionHold, 0, 3_600_000);
                holdUp = number(t, "monitor_fail_hold_up_ms", tp, holdUp, 0, 3_600_000);
                additional = number(t, "additional_master_hold_up_ms", tp, additional, 0, 3_600_000);
                holdDown = number(t, "monitor_fail_hold_down_ms", tp, holdDown, 0, 86_400_000);
                flapMax = number(t, "flap_max", tp, flapMax, 0, 100);
            }
        }
        boolean preempt = bool(m, "preempt", p, false);
        boolean accept = bool(m, "accept", p, true);
        String checksum = choice(m, "checksum", p, "rfc5798", Set.of("rfc5798", "v2"));
        long count = base.announceCount();
        long spacing = base.announceSpacingMs();
        long refresh = 0;
        if (m.containsKey("announce")) {
            String ap = join(p, "announce");
            Map<String, Object> a = map(m.get("announce"), ap, Set.of("count", "spacing_ms", "refresh_ms"), null);
            if (a != null) {
                count = number(a, "count", ap, count, 1, 100);
                spacing = number(a, "spacing_ms", ap, spacing, 1, 10_000);
                refresh = number(a, "refresh_ms", ap, 0, 0, 86_400_000);
                if (refresh > 0 && refresh < 1000) {
                    error(join(ap, "refresh_ms"), refresh + " is too often: 0 (off) or at least 1000");
                    refresh = 0;
                }
            }
        }
        String securityMode = "tls";
        String pkiDir = "/etc/tandem/pki";
        if (m.containsKey("security")) {
            String sp = join(p, "security");
            Map<String, Object> sec = map(m.get("security"), sp, Set.of("mode", "pki_dir"), null);
            if (sec != null) {
                securityMode = choice(sec, "mode", sp, "tls", Set.of("tls", "plaintext"));
                pkiDir = string(sec, "pki_dir", sp, pkiDir);
                if (pkiDir != null && !pkiDir.startsWith("/")) {
                    error(join(sp, "pki_dir"), "must be an absolute path, got '" + pkiDir + "'");
                }
            }
        }
        long port = number(m, "channel_port", p, 7400, 1, 65535);
        String runDir = string(m, "run_dir", p, "/run/tandem");
        if (runDir != null && !runDir.startsWith("/")) {
            error(join(p, "run_dir"), "must be an absolute path, got '" + runDir + "'");
        }
        ClusterSettings.SessionSyncConfig sessions = ClusterSettings.SessionSyncConfig.off();
        if (m.containsKey("sessions")) {
            String sp = join(p, "sessions");
            Map<String, Object> ss = map(m.get("sessions"), sp, Set.of("enabled", "port", "protocols", "max_entries",
                    "max_rate", "ignore", "mode", "local"), null);
            if (ss != null) {
                Set<Integer> protos = new java.util.TreeSet<>();
                if (ss.containsKey("protocols")) {
                    List<?> lp = list(ss.get("protocols"), join(sp, "protocols"));
                    Map<String, Integer> known = Map.of("tcp", 6, "udp", 17, "icmp", 1, "icmpv6", 58, "sctp", 132,
                            "gre", 47, "dccp", 33, "udplite", 136);
                    for (int k = 0; k < lp.size(); k++) {
                        if (!(lp.get(k) instanceof String x) || !known.containsKey(x)) {
                            error(join(sp, "protocols") + "[" + k + "]", "must be one of " + new java.util.TreeSet<>(known.keySet())
                                    + ", got " + (lp.get(k) == null ? "nothing" : kind(lp.get(k))));
                            continue;
                        }
                        protos.add(known.get(x));
                    }
                } else {
                    protos.addAll(sessions.protocols());
                }
                List<Cidr> ignore = new ArrayList<>();
                if (ss.containsKey("ignore")) {
                    List<?> li = list(ss.get("ignore"), join(sp, "ignore"));
                    for (int k = 0; k < Math.min(li.size(), 256); k++) {
                        Cidr c = li.get(k) instanceof String x ? cidr(x) : null;
                        if (c == null) {
                            error(join(sp, "ignore") + "[" + k + "]", "must be a network address/prefix, got "
                                    + (li.get(k) == null ? "nothing" : kind(li.get(k))));
                            continue;
                        }
                        ignore.add(c);
                    }
                }
                sessions = new ClusterSettings.SessionSyncConfig(bool(ss, "enabled", sp, true),
                        (int) number(ss, "port", sp, 0, 1, 65535), Set.copyOf(protos),
                        (int) number(ss, "max_entries", sp, 1_000_000, 1, 10_000_000),
                        number(ss, "max_rate", sp, 0, 0, 100_000_000), List.copyOf(ignore),
                        "direct".equals(choice(ss, "mode", sp, "cache", new java.util.TreeSet<>(Set.of("cache", "direct"))))
                                ? ClusterSettings.SessionSyncConfig.Mode.DIRECT : ClusterSettings.SessionSyncConfig.Mode.CACHE,
                        bool(ss, "local", sp, false));
            }
        }
        ClusterSettings.ConfigSyncConfig configSync = m.containsKey("config_sync") ? configSync(m.get("config_sync"),
                join(p, "config_sync")) : ClusterSettings.ConfigSyncConfig.off();
        return new ClusterSettings(name, profile, (int) advert, election, hold, preempt, accept, checksum, (int) count,
                (int) spacing, (int) refresh, runDir, securityMode, pkiDir, (int) port, (int) heartbeat, (int) misses,
                (int) hello, silence, promotionHold, holdUp, additional, holdDown, (int) flapMax, sessions, configSync,
                (int) number(m, "realtime_priority", p, ClusterSettings.DEFAULT_REALTIME_PRIORITY, 0, 99));
    }

    private ClusterSettings.ConfigSyncConfig configSync(Object o, String p) {
        Map<String, Object> m = map(o, p, Set.of("enabled", "ruleset", "files"), null);
        if (m == null) {
            return ClusterSettings.ConfigSyncConfig.off();
        }
        boolean enabled = bool(m, "enabled", p, false);
        String ruleset = absolute(m, "ruleset", p);
        List<ClusterSettings.ManagedFile> files = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        if (m.containsKey("files")) {
            List<?> l = list(m.get("files"), join(p, "files"));
            for (int i = 0; i < l.size(); i++) {
                String fp = join(p, "files") + "[" + i + "]";
                Map<String, Object> f = map(l.get(i), fp, Set.of("path", "reload"), Set.of("path"));
                if (f == null) {
                    continue;
                }
                String path = absolute(f, "path", fp);
                if (path == null) {
                    continue;
                }
                if (!seen.add(path)) {
                    error(join(fp, "path"), path + " is declared twice");
                    continue;
                }
                if (path.equals(ruleset)) {
                    error(join(fp, "path"), path + " is the ruleset (config_sync.ruleset), not a declared file");
                    continue;
                }
                List<String> reload = new ArrayList<>();
                if (f.containsKey("reload")) {
                    List<?> r = list(f.get("reload"), join(fp, "reload"));
                    for (int k = 0; k < r.size(); k++) {
                        if (!(r.get(k) instanceof String w) || w.isEmpty()) {
                            error(join(fp, "reload") + "[" + k + "]", "must be non-empty text, got "
                                    + (r.get(k) == null ? "nothing" : kind(r.get(k))));
                            continue;
                        }
                        reload.add(w);
                    }
                    if (r.isEmpty()) {
                        error(join(fp, "reload"), "must name a command (an absolute path, then its arguments)");
                    } else if (r.get(0) instanceof String c && !c.startsWith("/")) {
                        error(join(fp, "reload") + "[0]", "the command must be an absolute path, got '" + c + "'");
                    }
                }
                files.add(new ClusterSettings.ManagedFile(path, List.copyOf(reload)));
            }
        }
        if (enabled && ruleset == null && files.isEmpty()) {
            error(p, "enabled but nothing to sync: set ruleset and/or files");
        }
        return new ClusterSettings.ConfigSyncConfig(enabled, ruleset, List.copyOf(files));
    }

    /** An absolute, normalized path, or null (with an error when present but wrong). */
    private String absolute(Map<String, Object> m, String key, String p) {
        String s = string(m, key, p, null);
        if (s == null) {
            return null;
        }
        if (!s.startsWith("/") || !java.nio.file.Path.of(s).normalize().toString().equals(s)) {
            error(join(p, key), "must be an absolute, normalized path, got '" + s + "'");
            return null;
        }
        return s;
    }

    private List<VirtualGroupConfig> groups(Object o) {
        List<?> raw = list(o, "virtual_groups");
        if (!(o instanceof List)) {
            segmentsIncomplete = true;
        }
        if (raw.isEmpty() && o instanceof List) {
            error("virtual_groups", "at least one virtual group is required");
        }
        List<VirtualGroupConfig> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Map<String, String> vridUse = new HashMap<>(); // "lan/4/51" -> path
        Map<IpAddress, String> vipUse = new HashMap<>();
        for (int i = 0; i < raw.size(); i++) {
            String p = "virtual_groups[" + i + "]";
            Map<String, Object> m = map(raw.get(i), p, Set.of("name", "vrid", "segments"), Set.of("name", "vrid", "segments"));
            if (m == null || !(m.get("segments") instanceof List)) {
                segmentsIncomplete = true;
            }
            if (m == null) {
                continue;
            }
            String name = string(m, "name", p, "vg" + i);
            if (!names.add(name)) {
                error(join(p, "name"), "duplicate virtual group name '" + name + "'");
            }
            Long vridOrNull = checkedNumber(m, "vrid", p, 1, 255);
            int vrid = vridOrNull == null ? 0 : vridOrNull.intValue(); // 0: invalid, already reported
            List<?> segs = list(m.get("segments"), join(p, "segments"));
            if (segs.isEmpty() && m.get("segments") instanceof List) {
                error(join(p, "segments"), "at least one segment is required");
            }
            List<VirtualGroupConfig.SegmentConfig> segments = new ArrayList<>();
            for (int s = 0; s < segs.size(); s++) {
                String sp = join(p, "segments") + "[" + s + "]";
                Map<String, Object> sm = map(segs.get(s), sp, Set.of("interface", "addresses"), Set.of("interface", "addresses"));
                if (sm == null) {
                    segmentsIncomplete = true;
                    continue;
                }
                String iface = string(sm, "interface", sp, null);
                if (iface == null) {
                    segmentsIncomplete = true;
                    iface = "?";
                }
                List<?> addrs = list(sm.get("addresses"), join(sp, "addresses"));
                if (addrs.isEmpty() && sm.get("addresses") instanceof List) {
                    error(join(sp, "addresses"), "at least one address is required");
                }
                List<String> good = new ArrayList<>();
                Integer[] prefix = new Integer[2];
                boolean[] family = new boolean[2];
                for (int a = 0; a < addrs.size(); a++) {
                    String ap = join(sp, "addresses") + "[" + a + "]";
                    Object av = addrs.get(a);
                    Cidr c = av instanceof String str ? cidr(str) : null;
                    if (c == null) {
                        error(ap, "'" + av + "' is not a valid IPv4/IPv6 address with /prefix (e.g. 10.10.1.254/24)");
                        continue;
                    }
                    int fam = c.address().isIpv6() ? 1 : 0;
                    family[fam] = true;
                    if (prefix[fam] == null) {
                        prefix[fam] = c.prefixLength();
                    } else if (prefix[fam] != c.prefixLength()) {
                        error(ap, c + ": all " + (fam == 1 ? "IPv6" : "IPv4") + " VIPs of a segment share one prefix length ("
                                + prefix[fam] + ")");
                    }
                    String prev = vipUse.putIfAbsent(c.address(), ap);
                    if (prev != null) {
                        error(ap, c.address() + " is already used at " + prev);
                    }
                    good.add(c.toString());
                }
                for (int fam = 0; fam < 2; fam++) {
                    if (family[fam] && vrid != 0) {
                        String key = iface + "/" + fam + "/" + vrid;
                        String prev = vridUse.putIfAbsent(key, p);
                        if (prev != null && !prev.equals(p)) {
                            error(join(p, "vrid"), "duplicate VRID " + vrid + " on interface '" + iface + "' ("
                                    + (fam == 1 ? "IPv6" : "IPv4") + "), also used by " + prev);
                        } else if (prev != null) {
                            error(sp, "interface '" + iface + "' appears twice in this virtual group");
                        }
                    }
                }
                segments.add(new VirtualGroupConfig.SegmentConfig(iface, List.copyOf(good)));
            }
            out.add(new VirtualGroupConfig(name, vrid, List.copyOf(segments)));
        }
        return List.copyOf(out);
    }

    private static Cidr cidr(String s) {
        int slash = s.indexOf('/');
        if (slash < 0 || slash == s.length() - 1 || s.length() > 60) {
            return null;
        }
        IpAddress a = IpAddress.tryParse(s.substring(0, slash));
        String pl = s.substring(slash + 1);
        if (a == null || pl.length() > 3 || !pl.chars().allMatch(Character::isDigit)) {
            return null;
        }
        int p = Integer.parseInt(pl);
        if (p > (a.isIpv6() ? 128 : 32)) {
            return null;
        }
        return new Cidr(a, p);
    }

    private String linkAddress(Map<String, Object> n, String key, String path) {
        Object v = n.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s) || IpAddress.tryParse(s) == null) {
            error(join(path, key), "must be this node's IPv4 or IPv6 address on the " + key + " link (no prefix), got "
                    + kind(v));
            return null;
        }
        return s;
    }

    private static final Pattern MONITOR_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

    private MonitorsConfig monitors(Object o) {
        String p = "monitors";
        Map<String, Object> m = map(o, p, Set.of("link_condition", "link_groups", "path_groups", "service_checks",
                "self_checks"), null);
        if (m == null) {
            return MonitorsConfig.none();
        }
        Set<String> names = new HashSet<>();
        boolean linkAll = "all".equals(choice(m, "link_condition", p, "any", Set.of("any", "all")));
        List<MonitorsConfig.LinkGroup> links = new ArrayList<>();
        if (m.containsKey("link_groups")) {
            List<?> raw = list(m.get("link_groups"), join(p, "link_groups"));
            for (int i = 0; i < raw.size(); i++) {
                String gp = join(p, "link_groups") + "[" + i + "]";
                Map<String, Object> g = map(raw.get(i), gp, Set.of("name", "interfaces", "failure", "weight"),
                        Set.of("name", "interfaces"));
                if (g == null) {
                    continue;
                }
                String name = monitorName(g, gp, names);
                List<String> ifaces = new ArrayList<>();
                List<?> li = list(g.get("interfaces"), join(gp, "interfaces"));
                if (li.isEmpty() && g.get("interfaces") instanceof List) {
                    error(join(gp, "interfaces"), "at least one interface is required");
                }
                for (int k = 0; k < li.size(); k++) {
                    if (!(li.get(k) instanceof String s) || !IFACE.matcher(s).matches()) {
                        error(join(gp, "interfaces") + "[" + k + "]", "must be a logical interface name, got "
                                + (li.get(k) == null ? "nothing" : kind(li.get(k))));
                        continue;
                    }
                    ifaces.add(s);
                }
                boolean all = "all".equals(choice(g, "failure", gp, "any", Set.of("any", "all")));
                links.add(new MonitorsConfig.LinkGroup(name, List.copyOf(ifaces), all, weight(g, gp)));
            }
        }
        List<MonitorsConfig.PathGroup> paths = new ArrayList<>();
        if (m.containsKey("path_groups")) {
            List<?> raw = list(m.get("path_groups"), join(p, "path_groups"));
            for (int i = 0; i < raw.size(); i++) {
                String gp = join(p, "path_groups") + "[" + i + "]";
                Map<String, Object> g = map(raw.get(i), gp, Set.of("name", "destinations", "interval_ms", "timeout_ms",
                        "failures", "failure", "compare", "weight"), Set.of("name", "destinations"));
                if (g == null) {
                    continue;
                }
                String name = monitorName(g, gp, names);
                List<String> dests = new ArrayList<>();
                List<?> ld = list(g.get("destinations"), join(gp, "destinations"));
                if (ld.isEmpty() && g.get("destinations") instanceof List) {
                    error(join(gp, "destinations"), "at least one destination is required");
                }
                if (ld.size() > 64) {
                    error(join(gp, "destinations"), ld.size() + " destinations: at most 64");
                }
                for (int k = 0; k < Math.min(ld.size(), 64); k++) {
                    Object d = ld.get(k);
                    if (!(d instanceof String s) || IpAddress.tryParse(s) == null) {
                        error(join(gp, "destinations") + "[" + k + "]", "must be an IPv4 or IPv6 address (no prefix), got "
                                + (d == null ? "nothing" : kind(d)));
                        continue;
                    }
                    dests.add(IpAddress.parse(s).toString());
                }
                long interval = number(g, "interval_ms", gp, 1000, 10, 3_600_000);
                long timeout = number(g, "timeout_ms", gp, interval, 1, 60_000);
                if (timeout > interval) {
                    error(join(gp, "timeout_ms"), timeout + " is longer than interval_ms " + interval);
                    timeout = interval;
                }
                long failures = number(g, "failures", gp, 3, 1, 1000);
                boolean all = "all".equals(choice(g, "failure", gp, "any", Set.of("any", "all")));
                boolean compare = bool(g, "compare", gp, false);
                paths.add(new MonitorsConfig.PathGroup(name, List.copyOf(dests), (int) interval, (int) timeout,
                        (int) failures, all, compare, weight(g, gp)));
            }
        }
        List<MonitorsConfig.ServiceCheck> checks = new ArrayList<>();
        if (m.containsKey("service_checks")) {
            List<?> raw = list(m.get("service_checks"), join(p, "service_checks"));
            for (int i = 0; i < raw.size(); i++) {
                String gp = join(p, "service_checks") + "[" + i + "]";
                Map<String, Object> g = map(raw.get(i), gp, Set.of("name", "command", "unit", "interval_ms", "timeout_ms",
                        "fall", "rise", "weight"), Set.of("name"));
                if (g == null) {
                    continue;
                }
                String name = monitorName(g, gp, names);
                List<String> argv = new ArrayList<>();
                String unit = null;
                if (g.containsKey("command") == g.containsKey("unit")) {
                    error(gp, "needs exactly one of command (a list: program and arguments) or unit (a systemd unit)");
                } else if (g.containsKey("command")) {
                    List<?> lc = list(g.get("command"), join(gp, "command"));
                    if (lc.isEmpty() && g.get("command") instanceof List) {
                        error(join(gp, "command"), "must name a program");
                    }
                    for (int k = 0; k < lc.size(); k++) {
                        if (!(lc.get(k) instanceof String s) || s.isEmpty()) {
                            error(join(gp, "command") + "[" + k + "]", "must be non-empty text, got "
                                    + (lc.get(k) == null ? "nothing" : kind(lc.get(k))));
                            continue;
                        }
                        argv.add(s);
                    }
                    if (!argv.isEmpty() && !argv.get(0).startsWith("/")) {
                        error(join(gp, "command") + "[0]", "must be an absolute path (no PATH lookup), got '"
                                + argv.get(0) + "'");
                    }
                } else {
                    unit = string(g, "unit", gp, null);
                    if (unit != null && !unit.matches("[A-Za-z0-9@_.:-]{1,255}")) {
                        error(join(gp, "unit"), "'" + unit + "' is not a systemd unit name");
                    }
                }
                long interval = number(g, "interval_ms", gp, 2000, 10, 3_600_000);
                long timeout = number(g, "timeout_ms", gp, Math.min(interval, 1000), 1, 600_000);
                long fall = number(g, "fall", gp, 2, 1, 1000);
                long rise = number(g, "rise", gp, 2, 1, 1000);
                checks.add(new MonitorsConfig.ServiceCheck(name, List.copyOf(argv), unit, (int) interval, (int) timeout,
                        (int) fall, (int) rise, weight(g, gp)));
            }
        }
        MonitorsConfig.SelfChecks self = MonitorsConfig.SelfChecks.none();
        if (m.containsKey("self_checks")) {
            String sp = join(p, "self_checks");
            Map<String, Object> sc = map(m.get("self_checks"), sp, Set.of("ip_forwarding", "nft_table", "threads",
                    "interval_ms"), null);
            if (sc != null) {
                String table = string(sc, "nft_table", sp, null);
                if (table != null && !table.matches("(ip|ip6|inet|arp|bridge|netdev) [A-Za-z0-9_.-]{1,63}")) {
                    error(join(sp, "nft_table"), "must be 'FAMILY NAME' (e.g. 'inet filter'), got '" + table + "'");
                    table = null;
                }
                self = new MonitorsConfig.SelfChecks(bool(sc, "ip_forwarding", sp, false), table,
                        bool(sc, "threads", sp, false), (int) number(sc, "interval_ms", sp, 1000, 10, 3_600_000));
            }
        }
        return new MonitorsConfig(linkAll, List.copyOf(links), List.copyOf(paths), List.copyOf(checks), self);
    }

    private static final Pattern MAIL = Pattern.compile("[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}");

    private OperatorConfig operator(Object o) {
        String p = "operator";
        OperatorConfig d = OperatorConfig.defaults();
        Map<String, Object> m = map(o, p, Set.of("state_dir", "events", "alerts", "api"), null);
        if (m == null) {
            return d;
        }
        String stateDir = string(m, "state_dir", p, d.stateDir());
        if (stateDir != null && !stateDir.startsWith("/")) {
            error(join(p, "state_dir"), "must be an absolute path, got '" + stateDir + "'");
        }
        long maxCount = d.eventsMaxCount();
        long maxAge = d.eventsMaxAgeDays();
        boolean syslog = d.syslog();
        if (m.containsKey("events")) {
            String ep = join(p, "events");
            Map<String, Object> e = map(m.get("events"), ep, Set.of("max_count", "max_age_days", "syslog"), null);
            if (e != null) {
                maxCount = number(e, "max_count", ep, maxCount, 100, 100_000_000);
                maxAge = number(e, "max_age_days", ep, maxAge, 1, 36_500);
                syslog = bool(e, "syslog", ep, syslog);
            }
        }
        List<OperatorConfig.Webhook> hooks = new ArrayList<>();
        OperatorConfig.Email email = null;
        String notify = null;
        long notifyTimeout = d.notifyTimeoutMs();
        if (m.containsKey("alerts")) {
            String ap = join(p, "alerts");
            Map<String, Object> a = map(m.get("alerts"), ap, Set.of("webhooks", "email", "notify_script",
                    "notify_timeout_ms"), null);
            if (a != null) {
                if (a.containsKey("webhooks")) {
                    List<?> raw = list(a.get("webhooks"), join(ap, "webhooks"));
                    for (int i = 0; i < Math.min(raw.size(), 16); i++) {
                        String wp = join(ap, "webhooks") + "[" + i + "]";
                        Map<String, Object> w = map(raw.get(i), wp, Set.of("url", "timeout_ms"), Set.of("url"));
                        if (w == null) {
                            continue;
                        }
                        String url = string(w, "url", wp, null);
                        if (url != null && !url.matches("https?://[^\\s]{1,2000}")) {
                            error(join(wp, "url"), "must be an http:// or https:// URL, got '" + url + "'");
                        } else if (url != null) {
                            try {
                                java.net.URI.create(url);
                            } catch (IllegalArgumentException ex) {
                                error(join(wp, "url"), "not a valid URL: " + ex.getMessage());
                            }
                        }
                        hooks.add(new OperatorConfig.Webhook(url, (int) number(w, "timeout_ms", wp, 5000, 100, 120_000)));
                    }
                    if (raw.size() > 16) {
                        error(join(ap, "webhooks"), raw.size() + " webhooks: at most 16");
                    }
                }
                if (a.containsKey("email")) {
                    String mp = join(ap, "email");
                    Map<String, Object> e = map(a.get("email"), mp, Set.of("server", "port", "from", "to", "timeout_ms"),
                            Set.of("server", "from", "to"));
                    if (e != null) {
                        String server = string(e, "server", mp, null);
                        String from = string(e, "from", mp, null);
                        if (from != null && !MAIL.matcher(from).matches()) {
                            error(join(mp, "from"), "must be an address user@domain, got '" + from + "'");
                        }
                        List<String> to = new ArrayList<>();
                        List<?> lt = list(e.get("to"), join(mp, "to"));
                        for (int k = 0; k < Math.min(lt.size(), 50); k++) {
                            if (!(lt.get(k) instanceof String t) || !MAIL.matcher(t).matches()) {
                                error(join(mp, "to") + "[" + k + "]", "must be an address user@domain, got "
                                        + (lt.get(k) == null ? "nothing" : kind(lt.get(k))));
                                continue;
                            }
                            to.add(t);
                        }
                        if (lt.isEmpty() && e.get("to") instanceof List) {
                            error(join(mp, "to"), "at least one recipient is required");
                        }
                        email = new OperatorConfig.Email(server, (int) number(e, "port", mp, 25, 1, 65535), from,
                                List.copyOf(to), (int) number(e, "timeout_ms", mp, 10_000, 100, 120_000));
                    }
                }
                notify = string(a, "notify_script", ap, null);
                if (notify != null && !notify.startsWith("/")) {
                    error(join(ap, "notify_script"), "must be an absolute path, got '" + notify + "'");
                }
                notifyTimeout = number(a, "notify_timeout_ms", ap, notifyTimeout, 100, 600_000);
            }
        }
        String tokenFile = null;
        boolean plaintext = false;
        if (m.containsKey("api")) {
            String ap = join(p, "api");
            Map<String, Object> a = map(m.get("api"), ap, Set.of("token_file", "plaintext"), null);
            if (a != null) {
                tokenFile = string(a, "token_file", ap, null);
                if (tokenFile != null && !tokenFile.startsWith("/")) {
                    error(join(ap, "token_file"), "must be an absolute path, got '" + tokenFile + "'");
                }
                plaintext = bool(a, "plaintext", ap, false);
            }
        }
        return new OperatorConfig(stateDir, maxCount, maxAge, syslog, List.copyOf(hooks), email, notify,
                (int) notifyTimeout, tokenFile, plaintext);
    }

    private String monitorName(Map<String, Object> g, String path, Set<String> names) {
        String name = string(g, "name", path, null);
        if (name == null) {
            return path;
        }
        if (!MONITOR_NAME.matcher(name).matches()) {
            error(join(path, "name"), "monitor names are 1-63 of A-Z a-z 0-9 _ . -, got '" + name + "'");
        } else if (name.startsWith("self.")) {
            error(join(path, "name"), "names starting with 'self.' are the built-in self-checks'");
        } else if (!names.add(name)) {
            error(join(path, "name"), "another monitor is already named '" + name + "'");
        }
        return name;
    }

    /** weight: absent means a failure puts the node in FAULT. */
    private int weight(Map<String, Object> g, String path) {
        return (int) number(g, "weight", path, 0, 1, 254);
    }

    private Map<String, NodeConfig> nodes(Object o, List<VirtualGroupConfig> vgs, MonitorsConfig monitors) {
        Map<String, Object> m = map(o, "nodes", null, null);
        Map<String, NodeConfig> out = new LinkedHashMap<>();
        if (m == null) {
            return out;
        }
        if (m.isEmpty()) {
            error("nodes", "at least one node is required");
        }
        Set<String> logical = new LinkedHashSet<>(); // document order, so errors come in a stable order
        vgs.forEach(vg -> vg.segments().forEach(s -> logical.add(s.logicalInterface())));
        Set<String> monitored = new LinkedHashSet<>(); // logical names watched by link groups only
        monitors.linkGroups().forEach(g -> g.interfaces().forEach(i -> {
            if (!logical.contains(i)) {
                monitored.add(i);
            }
        }));
        Set<String> pathGroups = new HashSet<>();
        monitors.pathGroups().forEach(g -> pathGroups.add(g.name()));
        Map<Integer, String> priorities = new HashMap<>();
        int primaries = 0;
        for (Map.Entry<String, Object> e : m.entrySet()) {
            String p = "nodes." + e.getKey();
            if (!NODE_NAME.matcher(e.getKey()).matches()) {
                error(p, "node names are 1-31 of a-z, 0-9 and '-', starting with a letter or digit");
            }
            Map<String, Object> n = map(e.getValue(), p, Set.of("role", "priority", "interfaces", "control", "backup",
                            "path_sources", "management", "data"),
                    Set.of("role", "priority", "interfaces"));
            if (n == null) {
                continue;
            }
            String role = choice(n, "role", p, "secondary", Set.of("primary", "secondary"));
            if ("primary".equals(role)) {
                primaries++;
            }
            Long prioOrNull = checkedNumber(n, "priority", p, 1, 255);
            int prio = prioOrNull == null ? 0 : prioOrNull.intValue(); // 0: invalid, already reported
            String prev = prio == 0 ? null : priorities.putIfAbsent(prio, e.getKey());
            if (prev != null) {
                error(join(p, "priority"), "priority " + prio + " is also " + prev + "'s: node priorities must differ");
            }
            Map<String, String> ifaces = new LinkedHashMap<>();
            Map<String, Object> im = map(n.get("interfaces"), join(p, "interfaces"), null, null);
            if (im != null) {
                for (Map.Entry<String, Object> ie : im.entrySet()) {
                    String ip = join(join(p, "interfaces"), ie.getKey());
                    if (!(ie.getValue() instanceof String k) || !IFACE.matcher(k).matches()) {
                        error(ip, "must be a kernel interface name (1-15 characters, no '/' or spaces), got "
                                + (ie.getValue() == null ? "nothing" : kind(ie.getValue())));
                        continue;
                    }
                    if (!logical.contains(ie.getKey()) && !monitored.contains(ie.getKey()) && !segmentsIncomplete) {
                        error(ip, "'" + ie.getKey() + "' is not used by any virtual group segment or link group");
                    }
                    ifaces.put(ie.getKey(), k);
                }
                for (String l : logical) {
                    if (!im.containsKey(l)) {
                        error(join(p, "interfaces"), "no kernel interface for '" + l + "' (used by a virtual group)");
                    }
                }
                for (String l : monitored) {
                    if (!im.containsKey(l)) {
                        error(join(p, "interfaces"), "no kernel interface for '" + l + "' (used by a link group)");
                    }
                }
            }
            String control = linkAddress(n, "control", p);
            String backup = linkAddress(n, "backup", p);
            String data = linkAddress(n, "data", p);
            if (backup != null && control == null) {
                error(join(p, "backup"), "a backup link needs a control link (nodes." + e.getKey() + ".control)");
            }
            Map<String, String> sources = new LinkedHashMap<>();
            if (n.containsKey("path_sources")) {
                String sp = join(p, "path_sources");
                Map<String, Object> sm = map(n.get("path_sources"), sp, null, null);
                if (sm != null) {
                    for (Map.Entry<String, Object> se : sm.entrySet()) {
                        if (!pathGroups.contains(se.getKey())) {
                            error(join(sp, se.getKey()), "no path group is named '" + se.getKey() + "'");
                        } else if (!(se.getValue() instanceof String a) || IpAddress.tryParse(a) == null) {
                            error(join(sp, se.getKey()), "must be this node's source address for the probes (no prefix), got "
                                    + (se.getValue() == null ? "nothing" : kind(se.getValue())));
                        } else {
                            sources.put(se.getKey(), IpAddress.parse(a).toString());
                        }
                    }
                }
            }
            NodeConfig.Management mgmt = null;
            if (n.containsKey("management")) {
                String mp = join(p, "management");
                Map<String, Object> mm = map(n.get("management"), mp, Set.of("address", "port", "netns"), Set.of("address"));
                if (mm != null) {
                    String addr = string(mm, "address", mp, null);
                    if (addr != null && IpAddress.tryParse(addr) == null) {
                        error(join(mp, "address"), "must be this node's management address (no prefix), got '" + addr + "'");
                    }
                    String netns = string(mm, "netns", mp, null);
                    if (netns != null && !netns.startsWith("/")) {
                        error(join(mp, "netns"), "must be a namespace file path such as /proc/1/ns/net, got '" + netns + "'");
                    }
                    mgmt = new NodeConfig.Management(addr, (int) number(mm, "port", mp, 8443, 1, 65535), netns);
                }
            }
            out.put(e.getKey(), new NodeConfig(e.getKey(), role, prio, Map.copyOf(ifaces), control, backup,
                    Map.copyOf(sources), mgmt, data));
        }
        for (String link : List.of("control", "backup")) {
            long with = out.values().stream().filter(x -> (link.equals("control") ? x.control() : x.backup()) != null).count();
            if (with != 0 && with != out.size()) {
                error("nodes", "either every node has a " + link + " address or none does (" + with + " of " + out.size()
                        + " have one)");
            }
        }
        if (!m.isEmpty() && primaries != 1) {
            error("nodes", "exactly one node must have role: primary, found " + primaries);
        }
        return out;
    }
}
