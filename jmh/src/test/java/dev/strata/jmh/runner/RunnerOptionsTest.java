package dev.strata.jmh.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunnerOptionsTest {

    @Test
    void noArgumentsGiveTheShortRunOfEveryScenario() {
        RunnerOptions o = RunnerOptions.parse();
        assertThat(o.scenarios()).containsExactly(Scenario.Kind.values());
        assertThat(o.duration()).isEqualTo(RunnerOptions.DEFAULT_DURATION);
        assertThat(o.streams()).isEqualTo(RunnerOptions.DEFAULT_STREAMS);
        assertThat(o.recordBytes()).isEqualTo(RunnerOptions.DEFAULT_RECORD_BYTES);
        assertThat(o.rate()).isZero();
        assertThat(o.objectStore()).isNull();
        assertThat(o.json().getFileName().toString()).startsWith("strata-bench-").endsWith(".json");
        assertThat(o.plot()).isNull();
        assertThat(o.baseline()).isFalse();
        assertThat(o.help()).isFalse();
    }

    @Test
    void everyOptionIsParsedInBothSpellings() {
        RunnerOptions o = RunnerOptions.parse("--scenario", "tail,ingest", "--duration=1.5s", "--streams", "3",
                "--record-bytes=100", "--rate", "2000", "--dir", "/tmp/x", "--object-store",
                "s3://bucket/p?region=us-east-1", "--json", "out.json", "--plot=chart.html", "--baseline",
                "--wal-bytes", "16m", "--cache-bytes=4M", "--replay-quota", "20m", "--stages", "--replay-batch-bytes=16k",
                "--replay-priority", "IDLE", "--wal-backend=pwrite");
        assertThat(o.scenarios()).containsExactly(Scenario.Kind.TAIL, Scenario.Kind.INGEST);
        assertThat(o.duration()).isEqualTo(Duration.ofMillis(1500));
        assertThat(o.streams()).isEqualTo(3);
        assertThat(o.recordBytes()).isEqualTo(100);
        assertThat(o.rate()).isEqualTo(2000);
        assertThat(o.dir()).isEqualTo(Path.of("/tmp/x"));
        assertThat(o.objectStore()).isEqualTo(URI.create("s3://bucket/p?region=us-east-1"));
        assertThat(o.json()).isEqualTo(Path.of("out.json"));
        assertThat(o.plot()).isEqualTo(Path.of("chart.html"));
        assertThat(o.baseline()).isTrue();
        assertThat(o.walBytes()).isEqualTo(16L << 20);
        assertThat(o.cacheBytes()).isEqualTo(4L << 20);
        assertThat(o.replayQuota()).isEqualTo(20L << 20);
        assertThat(RunnerOptions.parse().replayQuota()).as("none by default").isZero();
        assertThat(o.stages()).isTrue();
        assertThat(o.replayBatchBytes()).isEqualTo(16384);
        assertThat(o.s3InProcess()).isFalse();
        assertThat(o.replayPriority()).isEqualTo(dev.strata.core.CpuPriority.IDLE);
        assertThat(RunnerOptions.parse().replayPriority()).as("normal by default").isEqualTo(dev.strata.core.CpuPriority.NORMAL);
        assertThatThrownBy(() -> RunnerOptions.parse("--replay-priority", "nice"))
                .hasMessageContaining("--replay-priority must be normal, low or idle, got 'nice'");
        assertThat(o.walBackend()).isEqualTo(dev.strata.wal.WalOptions.Backend.PWRITE);
        assertThat(RunnerOptions.parse().walBackend()).as("auto by default").isEqualTo(dev.strata.wal.WalOptions.Backend.AUTO);
        assertThat(RunnerOptions.parse("--wal-backend", "IO_URING").walBackend()).isEqualTo(dev.strata.wal.WalOptions.Backend.IO_URING);
        assertThatThrownBy(() -> RunnerOptions.parse("--wal-backend", "aio"))
                .hasMessageContaining("--wal-backend must be auto, io_uring, pwrite or direct, got 'aio'");
    }

    @Test
    void stagesAreOffAndTheHistoryUsesTheRecordSizeByDefault() {
        RunnerOptions o = RunnerOptions.parse("--record-bytes", "300");
        assertThat(o.stages()).isFalse();
        assertThat(o.replayBatchBytes()).isEqualTo(300);
    }

    @Test
    void theInProcessS3ServerIsAnObjectStoreChoice() {
        RunnerOptions o = RunnerOptions.parse("--object-store", "s3-in-process");
        assertThat(o.s3InProcess()).isTrue();
        assertThat(o.objectStore()).isNull();
        assertThat(Conditions.objectStore(o)).startsWith("s3-in-process");
    }

    @Test
    void durationsAcceptMillisecondsSecondsAndMinutes() {
        assertThat(RunnerOptions.parseDuration("--duration", "500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(RunnerOptions.parseDuration("--duration", "8")).isEqualTo(Duration.ofSeconds(8));
        assertThat(RunnerOptions.parseDuration("--duration", "2m")).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void helpAndNoJsonAreRecognised() {
        assertThat(RunnerOptions.parse("--help").help()).isTrue();
        assertThat(RunnerOptions.parse("-h").help()).isTrue();
        assertThat(RunnerOptions.parse("--json", "none").json()).isNull();
        assertThat(RunnerOptions.parse("--scenario", "all").scenarios()).hasSize(Scenario.Kind.values().length);
    }

    @Test
    void wrongArgumentsNameTheOption() {
        assertThatThrownBy(() -> RunnerOptions.parse("--bogus", "1")).hasMessageContaining("--bogus");
        assertThatThrownBy(() -> RunnerOptions.parse("--streams")).hasMessageContaining("--streams needs a value");
        assertThatThrownBy(() -> RunnerOptions.parse("--streams", "0")).hasMessageContaining("--streams");
        assertThatThrownBy(() -> RunnerOptions.parse("--rate", "fast")).hasMessageContaining("--rate");
        assertThatThrownBy(() -> RunnerOptions.parse("--duration", "10x")).hasMessageContaining("--duration");
        assertThatThrownBy(() -> RunnerOptions.parse("--scenario", "ingest,nope")).hasMessageContaining("nope");
        assertThatThrownBy(() -> RunnerOptions.parse("--object-store", "http://x")).hasMessageContaining("--object-store");
        assertThatThrownBy(() -> RunnerOptions.parse("--wal-bytes", "1m")).hasMessageContaining("--wal-bytes");
        assertThatThrownBy(() -> RunnerOptions.parse("--replay-batch-bytes", "2m")).hasMessageContaining("--replay-batch-bytes");
        assertThat(List.of(RunnerOptions.usage())).allMatch(u -> u.contains("--object-store") && u.contains("--plot")
                && u.contains("--stages") && u.contains("--replay-batch-bytes") && u.contains("s3-in-process"));
    }
}
