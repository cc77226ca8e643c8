package dev.strata.jmh.runner;

import dev.strata.jmh.core.InProcessS3;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * What a scenario gets from the runner: the options, fresh store settings (its own directory and
 * object prefix, deleted by {@link #cleanUp()}), the progress line, the disk baseline's rows (when
 * {@code --baseline} ran) and, with {@code --object-store s3-in-process}, the S3 server the runner
 * started (objects as files under the run's directory; stopped by {@link #cleanUp()}).
 */
final class RunContext {
    final RunnerOptions options;
    final Progress progress;
    private final Path runDir;
    /** The in-process S3 server, or null. */
    private InProcessS3 s3;
    /** Where {@link #s3} keeps its objects, or null. */
    private Path s3Dir;
    /** Rows of {@code bench/fio-baseline.sh} from this run, empty without {@code --baseline}. */
    private List<String> baseline = List.of();

    RunContext(RunnerOptions options, Progress progress) throws IOException {
        this.options = options;
        this.progress = progress;
        Files.createDirectories(options.dir());
        this.runDir = Files.createTempDirectory(options.dir(), "strata-bench-");
    }

    /** Keeps the disk baseline's rows for scenarios that compare with them. */
    void baseline(List<String> rows) {
        this.baseline = List.copyOf(rows);
    }

    List<String> baseline() {
        return baseline;
    }

    /**
     * Settings for a new store of {@code scenario}: a fresh directory, a fresh prefix on S3, and a
     * fresh {@link StageRecorder} with {@code --stages}.
     */
    StoreSettings freshStore(String scenario) throws IOException {
        Path dir = Files.createTempDirectory(runDir, scenario + "-");
        URI base = options.s3InProcess() ? s3().objectStoreUri("runs") : options.objectStore();
        var objects = base == null ? null
                : StoreSettings.withPrefix(base, "strata-bench-" + scenario + "-" + UUID.randomUUID());
        return new StoreSettings(dir, objects, options.walBytes(), options.cacheBytes(), false,
                options.stages() ? new StageRecorder() : null, options.walBackend());
    }

    /** The in-process S3 server, started on first use. */
    private synchronized InProcessS3 s3() throws IOException {
        if (s3 == null) {
            s3Dir = Files.createDirectories(runDir.resolve("s3"));
            try {
                s3 = InProcessS3.start(s3Dir);
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("cannot start the in-process S3 server: " + e, e);
            }
        }
        return s3;
    }

    /**
     * The local directory whose files hold {@code settings}' objects (its own object directory, a
     * {@code file:} object store, or the in-process S3 server's files), or null when they are
     * elsewhere (a remote S3).
     */
    Path localObjectFiles(StoreSettings settings) {
        if (settings.objectStore() == null) {
            return settings.dataDir().resolve(dev.strata.core.settings.LocationSettings.DEFAULT_OBJECT_DIR);
        }
        if ("file".equals(settings.objectStore().getScheme())) {
            return Path.of(settings.objectStore());
        }
        return options.s3InProcess() ? s3Dir : null;
    }

    /** The scenario's run length in nanoseconds. */
    long durationNanos() {
        return options.duration().toNanos();
    }

    /** Stops the in-process S3 server, if any, and deletes every local file the run created (objects on a remote S3 stay, under their run prefix). */
    void cleanUp() {
        synchronized (this) {
            if (s3 != null) {
                s3.close();
                s3 = null;
            }
        }
        try (java.util.stream.Stream<Path> paths = Files.walk(runDir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + runDir, e);
        }
    }
}
