package dev.tandem.lab;

import java.nio.file.Path;

/** The Tandem cluster file for the lab, with the knobs scenarios turn. */
public record LabConfig(String profile, boolean preempt, long preemptionHoldMs, boolean accept, boolean links) {

    public LabConfig {
        if (!profile.equals("default") && !profile.equals("aggressive")) {
            throw new LabException("profile must be default or aggressive, got '" + profile + "'");
        }
    }

    public static LabConfig of(String profile) {
        return new LabConfig(profile, false, 1000, true, true);
    }

    public LabConfig withPreempt(boolean on, long holdMs) {
        return new LabConfig(profile, on, holdMs, accept, links);
    }

    /** VRRP accept mode: false makes the active drop packets addressed to the VIPs. */
    public LabConfig withAccept(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, on, links);
    }

    /** Control link (10.10.3.0/30) and backup link over the data link (10.10.4.0/30): on by default. */
    public LabConfig withLinks(boolean on) {
        return new LabConfig(profile, preempt, preemptionHoldMs, accept, on);
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
                  security: {mode: tls, pki_dir: %s/pki}
                virtual_groups:
                  - name: vg1
                    vrid: 51
                    segments:
                      - interface: lan
                        addresses: [10.10.1.254/24, fd10:10:1::254/64]
                      - interface: wan
                        addresses: [10.10.2.254/24, fd10:10:2::254/64]
                nodes:
                  fw1: {role: primary, priority: 250, interfaces: {lan: lan0, wan: wan0}%s}
                  fw2: {role: secondary, priority: 200, interfaces: {lan: lan0, wan: wan0}%s}
                """.formatted(profile, preempt, accept, preemptionHoldMs, runDir, runDir,
                links ? ", control: 10.10.3.1, backup: 10.10.4.1" : "", links ? ", control: 10.10.3.2, backup: 10.10.4.2" : "");
    }
}
