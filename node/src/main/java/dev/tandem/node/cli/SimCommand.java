package dev.tandem.node.cli;

import dev.tandem.core.sim.Simulation;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "sim", description = "Run the deterministic simulator: one seed (replay) or many.")
final class SimCommand implements Callable<Integer> {
    @Option(names = "--seed", description = "replay this seed")
    Long seed;

    @Option(names = "--seeds", defaultValue = "1000", description = "how many seeds from --from (when no --seed)")
    long seeds;

    @Option(names = "--from", defaultValue = "0")
    long from;

    @Option(names = "--trace", description = "print every event of the run")
    boolean trace;

    @Override
    public Integer call() {
        if (seed != null) {
            Simulation.Result r = Simulation.run(seed, true);
            if (trace || !r.ok()) {
                r.trace().forEach(System.out::println);
            }
            System.out.println("seed " + seed + ": " + r.setup());
            System.out.println(r.ok() ? "ok (" + r.events() + " events)" : "VIOLATION: " + r.violation());
            return r.ok() ? 0 : 1;
        }
        long failed = 0;
        for (long s = from; s < from + seeds; s++) {
            Simulation.Result r = Simulation.run(s, false);
            if (!r.ok()) {
                failed++;
                System.out.println("seed " + s + " FAILED: " + r.violation() + "  replay: " + r.replayCommand());
            }
        }
        System.out.println(seeds - failed + "/" + seeds + " seeds ok");
        return failed == 0 ? 0 : 1;
    }
}
