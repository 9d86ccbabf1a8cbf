package dev.tandem.lab;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * `tandem bench failover`: the client-observed outage (longest gap of a 1 ms UDP probe stream)
 * over N runs of one fault, for Tandem and — with --vs keepalived — for keepalived on the same lab
 * in the same run. Prints each run, min/median/max, the ratio, and one JSON line at the end.
 */
public final class FailoverBench {

    /** monitors: the lab's monitors (link group, path group, service check, self-checks) on the Tandem nodes. */
    public record Options(String prefix, String profile, Fault fault, int runs, boolean vsKeepalived, boolean ipv6,
                          boolean monitors) {}

    private FailoverBench() {}

    public static Map<String, List<Double>> run(Options o, PrintStream out) {
        LabTopology lab = new LabTopology(o.prefix());
        LabConfig cfg = LabConfig.of(o.profile()).withMonitors(o.monitors());
        boolean created = !lab.exists();
        lab.up(cfg);
        Map<String, List<Double>> samples = new LinkedHashMap<>();
        try {
            out.printf("failover bench: profile %s (adverts every %d ms), fault %s, %d run(s)%s, monitors %s%n", o.profile(),
                    cfg.advertIntervalMs(), o.fault().name().toLowerCase().replace("_", "-"), o.runs(),
                    o.vsKeepalived() ? ", against keepalived" : "", o.monitors() ? "on" : "off");
            List<String> impls = new ArrayList<>(List.of("tandem"));
            if (o.vsKeepalived()) {
                if (!KeepalivedPair.installed()) {
                    throw new LabException("--vs keepalived: keepalived is not installed (apt-get install keepalived)");
                }
                impls.add("keepalived");
            }
            for (String impl : impls) {
                samples.put(impl, new ArrayList<>());
            }
            for (int i = 0; i < o.runs(); i++) {
                out.printf("run %d/%d%n", i + 1, o.runs());
                for (String impl : impls) { // interleaved: both see the same machine conditions
                    HaPair pair = impl.equals("tandem") ? new TandemPair(lab) : new KeepalivedPair(lab, cfg);
                    samples.get(impl).add(FailoverScenario.run(lab, pair, o.fault(), o.ipv6(), out).outageMs());
                }
            }
            out.println();
            for (Map.Entry<String, List<Double>> e : samples.entrySet()) {
                double[] s = stats(e.getValue());
                out.printf(Locale.ROOT, "%-10s min %6.1f ms   median %6.1f ms   max %6.1f ms%n", e.getKey(), s[0], s[1], s[2]);
            }
            Double ratio = null;
            if (samples.containsKey("keepalived")) {
                ratio = stats(samples.get("tandem"))[1] / stats(samples.get("keepalived"))[1];
                out.printf(Locale.ROOT, "tandem/keepalived median ratio: %.2f%n", ratio);
            }
            out.println(json(o, samples, ratio));
            return samples;
        } finally {
            if (created) {
                lab.down();
            }
        }
    }

    static double[] stats(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        int n = s.size();
        double median = n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        return new double[]{s.getFirst(), median, s.getLast()};
    }

    static String json(Options o, Map<String, List<Double>> samples, Double ratio) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "{\"bench\":\"failover\",\"profile\":\"%s\",\"fault\":\"%s\",\"runs\":%d,"
                + "\"ipv6\":%s,\"monitors\":%s", o.profile(), o.fault().name().toLowerCase().replace("_", "-"), o.runs(),
                o.ipv6(), o.monitors()));
        for (Map.Entry<String, List<Double>> e : samples.entrySet()) {
            double[] s = stats(e.getValue());
            b.append(String.format(Locale.ROOT, ",\"%s\":{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f,\"samples\":[",
                    e.getKey(), s[0], s[1], s[2]));
            for (int i = 0; i < e.getValue().size(); i++) {
                b.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.1f", e.getValue().get(i)));
            }
            b.append("]}");
        }
        if (ratio != null) {
            b.append(String.format(Locale.ROOT, ",\"ratio_median\":%.2f", ratio));
        }
        return b.append('}').toString();
    }
}
