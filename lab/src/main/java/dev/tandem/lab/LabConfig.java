package dev.tandem.lab;

import java.nio.file.Path;

/**
 * The Tandem cluster file for the lab, with the knobs scenarios turn.
 *
 * @param monitors the monitors a real deployment would have: link group 'uplinks' (LAN + WAN of each
 *                 firewall), path group 'server' (10.10.2.100, compare mode), service check 'svc'
 *                 (weight 100: the interface svc0 exists in the firewall's namespace), and the
 *                 self-checks (IP forwarding, ruleset table inet tandem_fw)
 * @param holdDownMs monitor fail hold down: time in FAULT before PASSIVE (3 s here, 1 min in production)
 * @param sessionMode cluster.sessions.mode: cache (the default) or direct
 * @param advertMs timers.advert_interval_ms over the profile's (0: the profile's own)
 * @param sessionLocal cluster.sessions.local: also sync the firewalls' own traffic on the virtual addresses
 * @param sessionMaxEntries cluster.sessions.max_entries (0: the default)
 */
public record LabConfig(String profile, boolean preempt, long preemptionHoldMs, boolean accept, boolean links,
                        boolean monitors, long holdDownMs, boolean sessions, String sessionMode, int advertMs,
                        boolean sessionLocal, int sessionMaxEntries) {

    public LabConfig {
        if (!profile.equals("default") && !profile.equals("aggressive")) {
            throw new LabException("profile must be default or aggressive, got '" + profile + "'");
        }
        if (!sessionMode.equals("cache") && !sessionMode.equals("direct")) {
            throw new LabException("session mode must be cache or direct, got '" + sessionMode + "'");
        }
        if (advertMs != 0 && (advertMs < 10 || advertMs % 10 != 0)) {
            throw new LabException("advert interval must be a multiple of 10 ms, got " + advertMs);
        }
    }

    public static LabConfig of(String profile) {
        return new LabConfig(profile, false, 1000, true, true, true, 3000, true, "cache", 0, false, 0);
    }

    public LabConfig withPreempt(boolean on, long holdMs) {
        return new LabConfig(profile, on, holdMs, accept, links, monitors, holdDownMs, sessions, sessionMode, advertMs, sessionLocal, sessionMaxEntries);
    }

    /** VRRP accept mode: false makes the active drop packets addressed to the VIPs. */
    public LabConfig withAccept(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, on, links, monitors, holdDownMs, sessions, sessionMode, advertMs, sessionLocal, sessionMaxEntries);
    }

    /** Control link (10.10.3.0/30) and backup link over the data link (10.10.4.0/30): on by default. */
    public LabConfig withLinks(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, on, monitors, holdDownMs, sessions, sessionMode, advertMs, sessionLocal, sessionMaxEntries);
    }

    public LabConfig withMonitors(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, links, on, holdDownMs, sessions, sessionMode, advertMs, sessionLocal, sessionMaxEntries);
    }

    public LabConfig withHoldDownMs(long ms) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, links, monitors, ms, sessions, sessionMode, advertMs, sessionLocal, sessionMaxEntries);
    }

    /** Session sync over the data link (10.10.4.0/30): on by default. */
    public LabConfig withSessions(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, links, monitors, holdDownMs, on, sessionMode, advertMs, sessionLocal, sessionMaxEntries);
    }

    /** cluster.sessions.mode: cache or direct. */
    public LabConfig withSessionMode(String mode) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, links, monitors, holdDownMs, sessions, mode, advertMs, sessionLocal, sessionMaxEntries);
    }

    /** cluster.sessions.local: also sync the firewalls' own traffic on the virtual addresses. */
    public LabConfig withSessionLocal(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, links, monitors, holdDownMs, sessions, sessionMode,
                advertMs, on, sessionMaxEntries);
    }

    /** cluster.sessions.max_entries (the passive's cache). */
    public LabConfig withSessionMaxEntries(int n) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, links, monitors, holdDownMs, sessions, sessionMode,
                advertMs, sessionLocal, n);
    }

    /** The profile's advert interval, or the one given over it. */
    public LabConfig withAdvertMs(int ms) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, links, monitors, holdDownMs, sessions, sessionMode, ms, sessionLocal, sessionMaxEntries);
    }

    public int advertIntervalMs() {
        return advertMs != 0 ? advertMs : profile.equals("aggressive") ? 10 : 300;
    }

    /** The path group's probe interval: 3 lost probes find a dead path. */
    public int probeIntervalMs() {
        return profile.equals("aggressive") ? 100 : 200;
    }

    /**
     * apiPort1/2: where fw1's and fw2's API and dashboard listen on the host's 127.0.0.1 (plain HTTP
     * on loopback; the daemons bind it in the host's namespace, hostNetns).
     */
    String yaml(Path runDir, int apiPort1, int apiPort2, String hostNetns) {
        String monitorsYaml = !monitors ? "" : """
                monitors:
                  link_groups:
                    - {name: uplinks, interfaces: [lan, wan], failure: any}
                  path_groups:
                    - {name: server, destinations: [10.10.2.100], interval_ms: %d, failures: 3, compare: true}
                  service_checks:
                    - {name: svc, command: [/usr/sbin/ip, link, show, dev, svc0], interval_ms: 500, timeout_ms: 1000,
                       fall: 2, rise: 2, weight: 100}
                  self_checks: {ip_forwarding: true, nft_table: inet tandem_fw, threads: true, interval_ms: 2000}
                """.formatted(probeIntervalMs());
        return """
                # Tandem lab cluster (written by `tandem lab up`)
                cluster:
                  name: lab
                  profile: %s
                  preempt: %s
                  accept: %s
                  timers: {%spreemption_hold_ms: %d, monitor_fail_hold_down_ms: %d}
                  run_dir: %s
                  security: {mode: tls, pki_dir: %s/pki}
                  sessions: {enabled: %s, mode: %s, local: %s%s}
                  config_sync: {enabled: %s, ruleset: %s/ruleset.nft}
                virtual_groups:
                  - name: vg1
                    vrid: 51
                    segments:
                      - interface: lan
                        addresses: [10.10.1.254/24, fd10:10:1::254/64]
                      - interface: wan
                        addresses: [10.10.2.254/24, fd10:10:2::254/64]
                operator: {state_dir: %s/state}
                %snodes:
                  fw1: {role: primary, priority: 250, interfaces: {lan: lan0, wan: wan0}%s%s}
                  fw2: {role: secondary, priority: 200, interfaces: {lan: lan0, wan: wan0}%s%s}
                """.formatted(profile, preempt, accept, advertMs == 0 ? "" : "advert_interval_ms: " + advertMs + ", ",
                        preemptionHoldMs, holdDownMs, runDir, runDir, sessions && links, sessionMode, sessionLocal,
                        sessionMaxEntries == 0 ? "" : ", max_entries: " + sessionMaxEntries, links, runDir,
                runDir, monitorsYaml,
                links ? ", control: 10.10.3.1, backup: 10.10.4.1, data: 10.10.4.1" : "", (monitors ? ", path_sources: {server: 10.10.2.1}" : "")
                        + management(apiPort1, hostNetns),
                links ? ", control: 10.10.3.2, backup: 10.10.4.2, data: 10.10.4.2" : "", (monitors ? ", path_sources: {server: 10.10.2.2}" : "")
                        + management(apiPort2, hostNetns));
    }

    private static String management(int port, String netns) {
        return ",\n       management: {address: 127.0.0.1, port: " + port + ", netns: " + netns + "}";
    }
}
