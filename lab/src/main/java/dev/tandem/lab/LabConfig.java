package dev.tandem.lab;

import java.nio.file.Path;

/** The Tandem cluster file for the lab, with the knobs scenarios turn. */
public record LabConfig(String profile, boolean preempt, long preemptionHoldMs, boolean accept) {

    public LabConfig {
        if (!profile.equals("default") && !profile.equals("aggressive")) {
            throw new LabException("profile must be default or aggressive, got '" + profile + "'");
        }
    }

    public static LabConfig of(String profile) {
        return new LabConfig(profile, false, 1000, true);
    }

    public LabConfig withPreempt(boolean on, long holdMs) {
        return new LabConfig(profile, on, holdMs, accept);
    }

    /** VRRP accept mode: false makes the active drop packets addressed to the VIPs. */
    public LabConfig withAccept(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, on);
    }

    public int advertIntervalMs() {
        return profile.equals("aggressive") ? 10 : 300;
    }

    String yaml(Path runDir) {
        return """
                # Tandem lab cluster (written by `tandem lab up`)
                cluster:
                  name: lab
                  profile: %s
                  preempt: %s
                  accept: %s
                  timers: {preemption_hold_ms: %d}
                  run_dir: %s
                virtual_groups:
                  - name: vg1
                    vrid: 51
                    segments:
                      - interface: lan
                        addresses: [10.10.1.254/24, fd10:10:1::254/64]
                      - interface: wan
                        addresses: [10.10.2.254/24, fd10:10:2::254/64]
                nodes:
                  fw1: {role: primary, priority: 250, interfaces: {lan: lan0, wan: wan0}}
                  fw2: {role: secondary, priority: 200, interfaces: {lan: lan0, wan: wan0}}
                """.formatted(profile, preempt, accept, preemptionHoldMs, runDir);
    }
}
