package dev.tandem.node.config;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/** Any text gives a config or errors with a path: never an exception. */
class ConfigLoaderFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void neverThrows(FuzzedDataProvider data) {
        ConfigLoader.Result r = ConfigLoader.parse(data.consumeRemainingAsString(), "fuzz");
        if ((r.config() == null) == r.errors().isEmpty()) {
            throw new IllegalStateException("a result must have a config or errors, not both or neither");
        }
    }
}
