package dev.tandem.node.daemon;

import dev.tandem.core.ha.Input;
import dev.tandem.core.ha.NodeState;
import dev.tandem.node.api.ActionRefused;
import dev.tandem.node.api.NodeView;
import dev.tandem.node.events.EventPage;
import dev.tandem.node.events.EventQuery;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The running daemon as the operator API sees it. Actions follow the allowed-actions rule per node
 * state (SPEC §7): demote only on the ACTIVE node, resume only when SUSPENDED, suspend not twice;
 * a refusal names the state and, where it helps, the node to use instead.
 */
final class DaemonView implements NodeView {
    private final NodeDaemon daemon;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    DaemonView(NodeDaemon daemon) {
        this.daemon = daemon;
    }

    @Override
    public String node() {
        return daemon.name();
    }

    @Override
    public String statusJson() throws Exception {
        return daemon.statusJson();
    }

    @Override
    public EventPage events(EventQuery q) throws Exception {
        if (daemon.eventStore() == null) {
            throw new IllegalStateException("the event store is not open");
        }
        return daemon.eventStore().query(q);
    }

    @Override
    public String act(String action, String who, String reason) throws ActionRefused {
        NodeState s = daemon.publishedState();
        String actor = who + " (API)" + (reason == null || reason.isBlank() ? "" : ": " + reason);
        switch (action) {
            case "demote" -> {
                if (s != NodeState.ACTIVE) {
                    String active = daemon.activePeer();
                    throw new ActionRefused(daemon.name() + " is " + s + ", not ACTIVE: only the active node can be demoted"
                            + (active == null ? "" : " (the active node is " + active + ")"));
                }
                daemon.command(Input.CommandKind.DEMOTE, actor);
                return daemon.name() + " demoted: it gives up the active role";
            }
            case "suspend" -> {
                if (s == NodeState.SUSPENDED) {
                    throw new ActionRefused(daemon.name() + " is already SUSPENDED");
                }
                daemon.command(Input.CommandKind.SUSPEND, actor);
                return daemon.name() + " suspended: out of the election until resumed";
            }
            case "resume" -> {
                if (s != NodeState.SUSPENDED) {
                    throw new ActionRefused(daemon.name() + " is " + s + ", not SUSPENDED: nothing to resume");
                }
                daemon.command(Input.CommandKind.RESUME, actor);
                return daemon.name() + " resumed";
            }
            case "sync-config" -> {
                var cs = daemon.configSync();
                if (cs == null) {
                    throw new ActionRefused("configuration sync is off on " + daemon.name() + " (cluster.config_sync)");
                }
                try {
                    return cs.forceSync(actor);
                } catch (dev.tandem.node.configsync.ConfigSync.Refused e) {
                    throw new ActionRefused(e.getMessage());
                } catch (Exception e) {
                    throw new ActionRefused("config sync on " + daemon.name() + " failed: " + e.getMessage());
                }
            }
            default -> throw new ActionRefused("unknown action '" + action + "'");
        }
    }

    @Override
    public String metrics() throws Exception {
        return daemon.metricsText();
    }

    @Override
    public Registration addListener(Listener l) {
        listeners.add(l);
        return () -> listeners.remove(l);
    }

    void statusChanged() {
        for (Listener l : listeners) {
            l.statusChanged();
        }
    }

    void eventAppended(dev.tandem.node.events.Event e) {
        for (Listener l : listeners) {
            l.eventAppended(e);
        }
    }
}
