package dev.tandem.core.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class SimulationTest {

    /** Seeds to run: -Dtandem.sim.seeds=N (default 1000), or one seed with -Dtandem.sim.seed=S. */
    @Test
    void invariantsHoldForManySeeds() {
        String one = System.getProperty("tandem.sim.seed");
        long count = Long.getLong("tandem.sim.seeds", 1000);
        long base = Long.getLong("tandem.sim.base", 0);
        LongStream seeds = one != null ? LongStream.of(Long.parseLong(one)) : LongStream.range(base, base + count);
        List<Simulation.Result> failures = seeds.parallel().mapToObj(s -> Simulation.run(s, false))
                .filter(r -> !r.ok()).sorted((a, b) -> Long.compare(a.seed(), b.seed())).toList();
        if (!failures.isEmpty()) {
            Simulation.Result first = Simulation.run(failures.getFirst().seed(), true);
            List<String> tail = first.trace().subList(Math.max(0, first.trace().size() - 60), first.trace().size());
            StringBuilder sb = new StringBuilder();
            sb.append(failures.size()).append(" seed(s) failed: ")
                    .append(failures.stream().limit(20).map(r -> Long.toString(r.seed())).toList()).append('\n')
                    .append("seed ").append(first.seed()).append(": ").append(first.violation()).append('\n')
                    .append("setup: ").append(first.setup()).append('\n')
                    .append("replay: ").append(first.replayCommand()).append('\n')
                    .append("   (or: mvn -pl core test -Dtest=SimulationTest -Dtandem.sim.seed=").append(first.seed())
                    .append(")\n").append("last trace lines:\n");
            tail.forEach(l -> sb.append("  ").append(l).append('\n'));
            System.err.println(sb);
            assertThat(failures).as(sb.toString()).isEmpty();
        }
    }

    @Test
    void sameSeedSameRun() {
        Simulation.Result a = Simulation.run(42, true);
        Simulation.Result b = Simulation.run(42, true);
        assertThat(a.trace()).isEqualTo(b.trace());
        assertThat(a.events()).isEqualTo(b.events()).isGreaterThan(100);
    }
}
