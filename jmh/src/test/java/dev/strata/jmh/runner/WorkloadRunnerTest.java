package dev.strata.jmh.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkloadRunnerTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return WorkloadRunner.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void helpPrintsUsageAndExitsZero() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Usage:", "--scenario");
    }

    @Test
    void wrongArgumentExitsTwoWithTheReason() {
        assertThat(run("--streams", "many")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--streams must be a whole number");
    }

    @Test
    void aRunPrintsTheTableAndWritesTheJsonReport() throws Exception {
        Path json = dir.resolve("out.json");
        assertThat(run(TinyRuns.args(dir, "ingest", "--json", json.toString()))).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("conditions: cores=", "scenario", "ingest", "records verified",
                "passed", "platform: thread wake-up lateness p99", "platform: time in wake-up stalls >= 5 ms");
        String report = Files.readString(json);
        assertThat(report).contains("\"name\": \"ingest\"", "\"append latency\"", "\"verification\": \"passed\"",
                "\"walBackend\": \"auto\"");
    }
}
