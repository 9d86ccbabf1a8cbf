package dev.tandem.node.cli;

import dev.tandem.node.api.Json;
import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.daemon.ControlServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "status", description = {
        "Show state, role, priority, monitors, links and the last transitions of every node (or --node).",
        "With a token (--token, $TANDEM_TOKEN, --token-file) each node's operator API is asked; without one, the "
                + "nodes' local control sockets on this host (root only)."})
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ApiOptions api;

    @Option(names = "--node", description = "only this node (default: every node of the cluster file)")
    String node;

    @Option(names = "--json", description = "JSON for scripts: an array of the nodes' status objects")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            String token = api.token();
            return token == null ? viaSockets(out, err) : viaApi(token, out, err);
        } catch (ApiOptions.UsageException e) {
            err.println("error: " + e.getMessage());
            return 2;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private int viaApi(String token, PrintWriter out, PrintWriter err) throws ApiOptions.UsageException {
        List<String> names = node != null ? List.of(node) : api.api != null ? java.util.Collections.singletonList(null)
                : api.nodes();
        List<String> jsons = new ArrayList<>();
        int failed = 0;
        for (String n : names) {
            ApiOptions.Target t = api.target(n);
            String answer = null;
            String problem;
            if (t.url() == null) {
                problem = "no management address in " + api.config + " (nodes." + n + ".management), so no API; "
                        + "give --api URL";
            } else {
                try (ApiClient c = api.client(t, token, err)) {
                    answer = c.get("/api/v1/status");
                    problem = null;
                } catch (ApiClient.ApiException e) {
                    problem = e.getMessage();
                }
            }
            Map<?, ?> status = null;
            if (answer != null) {
                try {
                    if (Json.parse(answer) instanceof Map<?, ?> m) {
                        status = m;
                    } else {
                        problem = t.url() + " answered something other than a status object";
                    }
                } catch (IllegalArgumentException e) {
                    problem = t.url() + " answered with invalid JSON (" + e.getMessage() + ")";
                }
            }
            if (problem != null) {
                failed++;
                String name = n != null ? n : String.valueOf(t.url());
                if (json) {
                    jsons.add("{\"node\":" + Json.q(name) + ",\"state\":\"UNREACHABLE\",\"error\":" + Json.q(problem) + "}");
                } else {
                    out.println(name + "  UNREACHABLE: " + problem);
                    out.println();
                }
                continue;
            }
            if (json) {
                jsons.add(answer.strip());
            } else {
                out.print(render(status));
                out.println();
            }
        }
        if (json) {
            out.println("[" + String.join(",", jsons) + "]");
        }
        return failed == 0 ? 0 : 1;
    }

    /** The local control sockets (root only, this host only): what `tandem status` did before the API. */
    private int viaSockets(PrintWriter out, PrintWriter err) throws ApiOptions.UsageException {
        ClusterConfig cfg = api.requireCluster("status through the control socket");
        List<String> names = node != null ? List.of(node) : new ArrayList<>(cfg.nodes().keySet());
        int reachable = 0;
        List<String> jsons = new ArrayList<>();
        for (String n : names) {
            Path sock = Path.of(cfg.cluster().runDir(), n + ".sock");
            try {
                String answer = ControlServer.request(sock, json ? "status-json" : "status");
                reachable++;
                if (json) {
                    jsons.add(answer.trim());
                } else {
                    out.print(answer);
                    out.println();
                }
            } catch (IOException e) {
                if (json) {
                    jsons.add("{\"node\":" + Json.q(n) + ",\"state\":\"UNREACHABLE\"}");
                } else {
                    out.println(n + "  not running here (no control socket at " + sock + "; without a token only "
                            + "local nodes are asked)");
                    out.println();
                }
            }
        }
        if (json) {
            out.println("[" + String.join(",", jsons) + "]");
        }
        return reachable > 0 ? 0 : 1;
    }

    /** One node's status (the API's JSON) as a human table. */
    static String render(Map<?, ?> s) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%s  %s  role %s  priority %s effective / %s configured%s%n", Text.str(s, "node", "?"),
                Text.str(s, "state", "?"), Text.str(s, "role", "?"), Text.str(s, "effective_priority", "?"),
                Text.str(s, "priority", "?"), s.containsKey("version") ? "  version " + Text.str(s, "version", "") : ""));
        if ("PASSIVE".equals(Text.str(s, "state", "")) && s.get("advert_silence_ms") instanceof Number w) {
            // how long the active's adverts must be silent before this node takes over (adapts to the active)
            b.append("  advert silence window ").append(w).append(" ms (with the dedicated links silent too)\n");
        }
        String susp = Text.str(s, "suspended_by", "");
        Object flaps = s.get("flap_count");
        if (!susp.isEmpty() || (flaps instanceof Long f && f > 0)) {
            b.append("  suspended by: ").append(susp.isEmpty() ? "-" : susp).append("  flap count: ")
                    .append(flaps == null ? "0" : flaps).append('\n');
        }
        List<Map<?, ?>> inst = maps(s.get("instances"));
        if (!inst.isEmpty()) {
            b.append(String.format("  %-22s %4s  %-7s %-28s %5s %9s %9s %8s%n", "instance", "vrid", "role", "master",
                    "prio", "sent", "received", "rejected"));
            for (Map<?, ?> x : inst) {
                Object mp = x.get("master_priority");
                b.append(String.format("  %-22s %4s  %-7s %-28s %5s %9s %9s %8s%n", Text.str(x, "instance", ""),
                        Text.str(x, "vrid", ""), Text.str(x, "role", ""), Text.str(x, "master", "-"),
                        mp instanceof Long l && l < 0 ? "-" : Text.str(x, "master_priority", "-"),
                        Text.str(x, "adverts_sent", ""), Text.str(x, "adverts_received", ""), Text.str(x, "rejected", "")));
            }
        }
        List<Map<?, ?>> mons = maps(s.get("monitors"));
        if (!mons.isEmpty()) {
            b.append(String.format("  %-36s %-10s %-5s %s%n", "monitor", "effect", "state", "detail"));
            for (Map<?, ?> m : mons) {
                b.append(String.format("  %-36s %-10s %-5s %s%n", Text.str(m, "monitor", Text.str(m, "name", "")),
                        Text.str(m, "effect", ""), Boolean.TRUE.equals(m.get("up")) ? "up" : "DOWN",
                        Text.str(m, "detail", "")));
            }
        }
        List<String> links = new ArrayList<>();
        List<String> peers = new ArrayList<>();
        for (String line : strings(s.get("channel"))) {
            (line.startsWith("last hello from") ? peers : links).add(line);
        }
        if (!links.isEmpty()) {
            b.append("  links:\n");
            links.forEach(l -> b.append("    ").append(l).append('\n'));
        }
        if (!peers.isEmpty()) {
            b.append("  peers:\n");
            peers.forEach(l -> b.append("    ").append(l).append('\n'));
        }
        List<String> tr = strings(s.get("transitions"));
        b.append("  last transitions:").append(tr.isEmpty() ? " none\n" : "\n");
        for (String t : tr.subList(Math.max(0, tr.size() - 5), tr.size())) {
            b.append("    ").append(t).append('\n');
        }
        return b.toString();
    }

    private static List<Map<?, ?>> maps(Object o) {
        List<Map<?, ?>> r = new ArrayList<>();
        if (o instanceof List<?> l) {
            for (Object x : l) {
                if (x instanceof Map<?, ?> m) {
                    r.add(m);
                }
            }
        }
        return r;
    }

    private static List<String> strings(Object o) {
        List<String> r = new ArrayList<>();
        if (o instanceof List<?> l) {
            for (Object x : l) {
                if (x != null) {
                    r.add(Text.clean(String.valueOf(x)));
                }
            }
        }
        return r;
    }
}
