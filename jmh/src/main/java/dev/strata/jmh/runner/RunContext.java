package dev.strata.jmh.runner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.UUID;

/**
 * What a scenario gets from the runner: the options, fresh store settings (its own directory and
 * object prefix, deleted by {@link #cleanUp()}), and the progress line.
 */
final class RunContext {
    final RunnerOptions options;
    final Progress progress;
    private final Path runDir;

    RunContext(RunnerOptions options, Progress progress) throws IOException {
        this.options = options;
        this.progress = progress;
        Files.createDirectories(options.dir());
        this.runDir = Files.createTempDirectory(options.dir(), "strata-bench-");
    }

    /** Settings for a new store of {@code scenario}: a fresh directory, and a fresh prefix on S3. */
    StoreSettings freshStore(String scenario) throws IOException {
        Path dir = Files.createTempDirectory(runDir, scenario + "-");
        var objects = options.objectStore() == null ? null
                : StoreSettings.withPrefix(options.objectStore(), "strata-bench-" + scenario + "-" + UUID.randomUUID());
        return new StoreSettings(dir, objects, options.walBytes(), options.cacheBytes(), false);
    }

    /** The scenario's run length in nanoseconds. */
    long durationNanos() {
        return options.duration().toNanos();
    }

    /** Deletes every local file the run created (objects on S3 stay, under their run prefix). */
    void cleanUp() {
        try (java.util.stream.Stream<Path> paths = Files.walk(runDir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + runDir, e);
        }
    }
}
