package dev.tandem.node.config;

import java.util.Map;

/**
 * Node-local values: never synchronized between nodes. interfaces maps logical -> kernel name;
 * control and backup are this node's addresses on the control link and its backup (null: none);
 * pathSources maps a path group to the source address of this node's probes (absent: the kernel's choice);
 * management is where this node serves the API and dashboard (null: nowhere).
 */
public record NodeConfig(String name, String role, int priority, Map<String, String> interfaces, String control,
                         String backup, Map<String, String> pathSources, Management management, String data) {

    /** The address session sync uses: the data link's, else the backup link's, else the control link's. */
    public String dataOrFallback() {
        return data != null ? data : backup != null ? backup : control;
    }

    /**
     * @param netns a network namespace file to bind in (e.g. /proc/1/ns/net: the lab's host side), or null
     */
    public record Management(String address, int port, String netns) {}
}
