package dev.strata.jmh.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** Scratch directories of the engine benchmarks: under {@code -Dstrata.bench.dir} (default the temp directory). */
public final class BenchDirs {
    private BenchDirs() {
    }

    public static Path create(String prefix) throws IOException {
        Path base = Path.of(System.getProperty("strata.bench.dir", System.getProperty("java.io.tmpdir")));
        return Files.createTempDirectory(base, prefix);
    }

    public static void delete(Path dir) {
        try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
