package dev.tandem.node.config;

import java.util.Map;

/** Node-local values: never synchronized between nodes. interfaces maps logical -> kernel name. */
public record NodeConfig(String name, String role, int priority, Map<String, String> interfaces) {}
