package dev.tandem.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The core stays pure: no sockets, threads, clocks, files or randomness of its own (sim uses a seed). */
class CorePurityTest {
    private static final Pattern FORBIDDEN = Pattern.compile(
            "import java\\.(net|nio|io\\.File|util\\.concurrent|lang\\.foreign|time\\.(Instant|Clock|LocalDateTime))"
                    + "|System\\.(currentTimeMillis|nanoTime)|new Thread|Thread\\.sleep|Math\\.random|new Random\\(\\)"
                    + "|ThreadLocalRandom|Instant\\.now");

    @Test
    void mainSourcesDoNoIo() throws IOException {
        Path src = Path.of("src/main/java");
        List<String> offenders;
        try (Stream<Path> files = Files.walk(src)) {
            offenders = files.filter(p -> p.toString().endsWith(".java")).flatMap(p -> {
                try {
                    return Files.readAllLines(p).stream().filter(l -> FORBIDDEN.matcher(l).find())
                            .map(l -> p + ": " + l.trim());
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }).toList();
        }
        assertThat(offenders).isEmpty();
    }
}
