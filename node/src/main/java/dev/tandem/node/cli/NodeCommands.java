package dev.tandem.node.cli;

import dev.tandem.node.api.Json;
import dev.tandem.node.config.ClusterConfig;
import dev.tandem.node.daemon.ControlServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Operator actions on a node: each is recorded as an event naming who asked. With a token they go to the node's
 * API ({@code POST /api/v1/actions/...}, the token's name is the actor); without one, to the local control socket.
 */
final class NodeCommands {
    private NodeCommands() {}

    /** Sends one API action; prints the node's answer or the refusal. */
    static int act(ApiOptions api, String node, String action, String reason, PrintWriter out, PrintWriter err,
                   String token) throws ApiOptions.UsageException {
        ApiOptions.Target t = api.target(node);
        if (t.url() == null) {
            err.println("error: node " + node + " has no management address in " + api.config + " (nodes." + node
                    + ".management), so no API; give --api URL");
            return 1;
        }
        String body = reason == null ? null : "{\"reason\":" + Json.q(reason) + "}";
        try (ApiClient c = api.client(t, token, err)) {
            String answer = c.post("/api/v1/actions/" + action, body);
            Object o = Json.parse(answer);
            out.println(o instanceof Map<?, ?> m ? Text.str(m, "result", Text.clean(answer)) : Text.clean(answer));
            return 0;
        } catch (ApiClient.ApiException e) {
            String who = node != null ? node : t.url().toString();
            err.println(e.status == 409 ? "refused by " + who + ": " + e.getMessage() : "error: " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("error: " + t.url() + " answered with invalid JSON (" + e.getMessage() + ")");
            return 1;
        }
    }

    static String checkReason(String reason) throws ApiOptions.UsageException {
        if (reason == null || reason.isBlank()) {
            return null;
        }
        if (reason.length() > dev.tandem.node.api.ApiServer.MAX_REASON
                || reason.chars().anyMatch(c -> Character.isISOControl(c) && c != '\t')) {
            throw new ApiOptions.UsageException("--reason must be at most " + dev.tandem.node.api.ApiServer.MAX_REASON
                    + " characters without control characters");
        }
        return reason.strip();
    }

    abstract static class Base implements Callable<Integer> {
        @Mixin
        ApiOptions api;

        @Option(names = "--node", description = "the node to act on (default: this host's name)")
        String node;

        @Option(names = "--reason", paramLabel = "TEXT", description = "why (recorded with the event)")
        String reason;

        @Option(names = "--via", description = "control socket only: the local node to send it through (over the "
                + "peer channel when it is not --node; default: --node itself if it runs here)")
        String via;

        @Spec
        CommandSpec spec;

        abstract String verb();

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                String why = checkReason(reason);
                String token = api.token();
                if (token != null) {
                    if (via != null) {
                        throw new ApiOptions.UsageException("--via is for the control socket; with a token the "
                                + "action goes to --node's API directly");
                    }
                    return act(api, api.nodeOrHost(node), verb(), why, out, err, token);
                }
                return viaSocket(why, out, err);
            } catch (ApiOptions.UsageException e) {
                err.println("error: " + e.getMessage());
                return 2;
            } finally {
                out.flush();
                err.flush();
            }
        }

        private int viaSocket(String why, PrintWriter out, PrintWriter err) throws ApiOptions.UsageException {
            ClusterConfig cfg = api.requireCluster("the control socket");
            String n = node != null ? node : ConfigCommand.hostName();
            String local = via != null ? via : n;
            String who = System.getProperty("user.name", "operator") + " via CLI" + (why == null ? "" : ": " + why);
            String request = local.equals(n) ? verb() + " " + who : verb() + "@" + n + " " + who;
            try {
                String answer = ControlServer.request(Path.of(cfg.cluster().runDir(), local + ".sock"), request);
                out.print(answer);
                return answer.startsWith("ok") ? 0 : 1;
            } catch (IOException e) {
                err.println("error: node " + local + " is not running here (" + e.getMessage() + "); without a token "
                        + "only the local control socket is used");
                return 1;
            }
        }
    }

    @Command(name = "suspend", description = "Keep this node out of the election (hands over if active).")
    static final class Suspend extends Base {
        String verb() {
            return "suspend";
        }
    }

    @Command(name = "resume", description = "Let a suspended node take part in the election again.")
    static final class Resume extends Base {
        String verb() {
            return "resume";
        }
    }

    @Command(name = "demote", description = "The active node gives up the role now (priority 0 advert).")
    static final class Demote extends Base {
        String verb() {
            return "demote";
        }
    }

    @Command(name = "sync", description = "Synchronization commands.", subcommands = SyncConfig.class)
    static final class Sync implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
    }

    @Command(name = "config", description = {"Push the node's configuration to its peers now (POST "
            + "/api/v1/actions/sync-config; needs an admin token).",
            "Without a token: through the local control socket (root). Only the configuration primary syncs."})
    static final class SyncConfig implements Callable<Integer> {
        @Mixin
        ApiOptions api;

        @Option(names = "--node", description = "the node whose configuration is pushed (default: this host's name)")
        String node;

        @Option(names = "--reason", paramLabel = "TEXT", description = "why (recorded with the event)")
        String reason;

        @Option(names = "--force", description = "sync even when the versions match; the API's sync-config is "
                + "always a forced sync, so this only states it")
        boolean force;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                String why = checkReason(reason);
                String token = api.token();
                if (token == null) {
                    ClusterConfig cfg = api.requireCluster("the control socket");
                    String n = node != null ? node : ConfigCommand.hostName();
                    String who = System.getProperty("user.name", "operator") + " via CLI" + (why == null ? "" : ": " + why);
                    try {
                        String answer = ControlServer.request(Path.of(cfg.cluster().runDir(), n + ".sock"),
                                "sync-config " + (force ? "force" : "") + " | " + who);
                        out.print(answer);
                        return answer.startsWith("ok") ? 0 : 1;
                    } catch (IOException e) {
                        err.println("error: node " + n + " is not running here (" + e.getMessage() + ")");
                        return 1;
                    }
                }
                return act(api, api.nodeOrHost(node), "sync-config", why, out, err, token);
            } catch (ApiOptions.UsageException e) {
                err.println("error: " + e.getMessage());
                return 2;
            } finally {
                out.flush();
                err.flush();
            }
        }
    }
}
