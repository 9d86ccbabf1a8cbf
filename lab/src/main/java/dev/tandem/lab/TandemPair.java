package dev.tandem.lab;

import java.nio.file.Path;
import java.util.List;

/** `tandem run` on fw1 and fw2 of the lab, each a real process inside its namespace. */
public final class TandemPair extends ProcessPair {
    private static final String MAIN = "dev.tandem.node.cli.TandemCli";
    /**
     * The daemon's JVM: ZGC keeps pauses under ~2 ms (a 64 MiB SerialGC heap paused 11-19 ms, long
     * enough to silence heartbeats and adverts and fake a dead node). As `tandem run`: the daemon sets
     * its soft heap target from cluster.sessions.max_entries (HeapSizing), -Xmx covers the default.
     */
    public static final List<String> NODE_JVM = List.of("-XX:+UseZGC", "-Xms64m", "-Xmx1g", "-ea");

    private final java.util.Map<String, List<String>> extraJvm = new java.util.HashMap<>();

    public TandemPair(LabTopology lab) {
        super(lab);
    }

    /** JVM options for fw's daemon from its next start on (after nodeJvm()), e.g. a -D a test needs. */
    public TandemPair jvmOptions(String fw, String... options) {
        extraJvm.put(fw, List.of(options));
        return this;
    }

    @Override
    public String name() {
        return "tandem";
    }

    @Override
    protected Path logFile(String fw) {
        return lab.runDir().resolve(fw + ".log");
    }

    @Override
    protected Process launch(String fw) {
        List<String> jvm = new java.util.ArrayList<>(nodeJvm());
        jvm.addAll(extraJvm.getOrDefault(fw, List.of()));
        return JavaProcess.start(JavaProcess.command(lab.ns(fw), MAIN, jvm,
                List.of("run", "-c", lab.configFile(fw).toString(), "--node", fw)), logFile(fw));
    }

    @Override
    public boolean ready(String fw) {
        String s = ControlClient.statusJson(lab, fw);
        return running(fw) && s.contains("\"state\":\"PASSIVE\"") && !s.contains("BULK_SYNC");
    }

    /**
     * NODE_JVM plus the options in the environment variable TANDEM_LAB_NODE_JVM (space-separated; later
     * options win), e.g. "-XX:SoftMaxHeapSize=512m -Xmx1g" to try the daemons with a larger heap.
     */
    @Override
    public boolean settled(String fw) {
        String s = ControlClient.statusJson(lab, fw);
        double window = number(s, "advert_silence_ms");
        double advert = number(s, "advert_ms");
        // below the longest window (two intervals; plus the skew where there are several backups): it adapted
        return window >= 0 && advert > 0 && window < 2 * advert - 0.05;
    }

    private static double number(String json, String field) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field + "\":([0-9.]+)").matcher(json);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    @Override
    public String detail(String fw) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"advert_silence_ms\":([0-9.]+)")
                .matcher(ControlClient.statusJson(lab, fw));
        return m.find() ? fw + " advert silence window " + m.group(1) + " ms" : "";
    }

    @Override
    public String takeover(String fw) {
        String last = null;
        for (String line : log(fw).split("\n")) {
            if (line.contains(" TRANSITION ") && line.contains("-> ACTIVE")) {
                last = line;
            }
        }
        return last == null ? "" : fw + " took the role: "
                + last.substring(last.indexOf("-> ACTIVE") + "-> ACTIVE".length()).replaceFirst("^: ", "");
    }

    public static List<String> nodeJvm() {
        String extra = System.getenv("TANDEM_LAB_NODE_JVM");
        if (extra == null || extra.isBlank()) {
            return NODE_JVM;
        }
        List<String> l = new java.util.ArrayList<>(NODE_JVM);
        l.addAll(List.of(extra.trim().split("\\s+")));
        return l;
    }
}
