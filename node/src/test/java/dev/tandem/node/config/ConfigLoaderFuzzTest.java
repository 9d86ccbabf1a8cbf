package dev.tandem.node.config;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/** Any text gives a config or errors with a path: never an exception, never an internal error. */
class ConfigLoaderFuzzTest {

    /** A valid file whose values the structured fuzz test replaces, so the walker is reached deeply. */
    private static final String[] VALID = """
            cluster:
              name: t
              profile: aggressive
              timers: {advert_interval_ms: 20, election_delay_ms: 40}
              announce: {count: 5, spacing_ms: 10, refresh_ms: 0}
              security: {mode: tls, pki_dir: /etc/tandem/pki}
            virtual_groups:
              - name: vg1
                vrid: 51
                segments:
                  - interface: lan
                    addresses: [10.0.0.254/24, fd00::254/64]
                  - interface: wan
                    addresses: [10.0.1.254/24]
            nodes:
              a: {role: primary, priority: 200, interfaces: {lan: eth0, wan: eth1}, control: 10.9.0.1}
              b: {role: secondary, priority: 100, interfaces: {lan: eth0, wan: eth1}, control: 10.9.0.2}
            """.split("\n");

    @FuzzTest(maxDuration = "10s")
    void neverThrows(FuzzedDataProvider data) {
        check(ConfigLoader.parse(data.consumeRemainingAsString(), "fuzz"));
    }

    /** Replaces the value of a few lines of a valid file (after the first ':') with fuzzed text. */
    @FuzzTest(maxDuration = "10s")
    void neverThrowsOnMutatedValidFile(FuzzedDataProvider data) {
        String[] lines = VALID.clone();
        int edits = data.consumeInt(1, 3);
        for (int i = 0; i < edits; i++) {
            int at = data.consumeInt(0, lines.length - 1);
            int colon = lines[at].indexOf(':');
            String keep = colon < 0 ? lines[at].substring(0, lines[at].length() - lines[at].stripLeading().length())
                    : lines[at].substring(0, colon + 1) + " ";
            lines[at] = keep + data.consumeString(40);
        }
        check(ConfigLoader.parse(String.join("\n", lines), "fuzz"));
    }

    private static void check(ConfigLoader.Result r) {
        if ((r.config() == null) == r.errors().isEmpty()) {
            throw new IllegalStateException("a result must have a config or errors, not both or neither");
        }
        for (ConfigError e : r.errors()) {
            if (e.message().startsWith(ConfigLoader.INTERNAL)) {
                throw new IllegalStateException("the loader failed on its input: " + e);
            }
        }
    }
}
