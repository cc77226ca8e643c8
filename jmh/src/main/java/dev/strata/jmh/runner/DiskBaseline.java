package dev.strata.jmh.runner;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The disk's physical limit, measured in the same run: runs the repository's
 * {@code bench/fio-baseline.sh} (found from the working directory or from the jar's repository) on
 * the data directory and returns its rows; when the script is absent, says so and returns nothing.
 */
final class DiskBaseline {
    /** Seconds per fio job: eight jobs, about half a minute in all. */
    static final int SECONDS_PER_JOB = 3;

    private DiskBaseline() {
    }

    static List<String> run(Path dataDir, PrintStream err) throws IOException, InterruptedException {
        Path script = locate();
        if (script == null) {
            err.println("strata-bench: --baseline: bench/fio-baseline.sh not found; skipping the disk baseline");
            return List.of();
        }
        err.println("strata-bench: disk baseline: " + script + " (about " + 8 * (SECONDS_PER_JOB + 1) + " s)");
        Files.createDirectories(dataDir);
        Path dir = Files.createTempDirectory(dataDir, "fio-baseline-");
        Process p = new ProcessBuilder("bash", script.toString(), dir.toString(), Integer.toString(SECONDS_PER_JOB))
                .redirectErrorStream(true).start();
        List<String> rows = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                rows.add(line);
            }
        } finally {
            int status = p.waitFor();
            Files.deleteIfExists(dir);
            if (status != 0) {
                err.println("strata-bench: fio-baseline.sh exited with " + status);
            }
        }
        return rows;
    }

    private static Path locate() {
        List<Path> candidates = new ArrayList<>();
        candidates.add(Path.of("bench", "fio-baseline.sh"));
        try {
            // jmh/target/strata-bench.jar -> repository root -> bench
            Path jar = Path.of(WorkloadRunner.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path repo = jar.toAbsolutePath().getParent().getParent().getParent();
            candidates.add(repo.resolve("bench/fio-baseline.sh").normalize());
        } catch (Exception | Error e) {
            // no code source (unusual class loader): only the working-directory candidate
        }
        for (Path c : candidates) {
            if (Files.isRegularFile(c)) {
                return c.toAbsolutePath().normalize();
            }
        }
        return null;
    }
}
