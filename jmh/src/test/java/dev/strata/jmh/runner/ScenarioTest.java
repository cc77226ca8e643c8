package dev.strata.jmh.runner;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.nio.file.Path;

/** Each scenario in a tiny configuration completes and its verification passes; speed is never asserted. */
class ScenarioTest {

    @TempDir
    Path dir;

    private ScenarioResult run(Scenario scenario, String name, String... extra) throws Exception {
        RunContext context = TinyRuns.context(dir, name, extra);
        try {
            return scenario.run(context);
        } finally {
            context.progress.close();
            context.cleanUp();
        }
    }

    @Test
    void ingestAtMaxRateReadsEveryRecordBack() throws Exception {
        ScenarioResult r = run(new IngestScenario(), "ingest");
        assertThat(r.number("appends")).isPositive();
        assertThat(r.number("records verified")).isEqualTo(r.number("appends"));
        assertThat(r.latencies()).containsKey("append latency");
    }

    @Test
    void ingestAtTargetRateRecordsCorrectedLatency() throws Exception {
        ScenarioResult r = run(new IngestScenario(), "ingest", "--rate", "2000");
        assertThat(r.number("appends")).isPositive();
        assertThat(r.number("records verified")).isEqualTo(r.number("appends"));
        assertThat(r.latencies()).containsKeys("append latency (CO-corrected)", "append service time");
    }

    @Test
    void tailReadersSeeEveryRecord() throws Exception {
        ScenarioResult r = run(new TailScenario(), "tail");
        assertThat(r.number("records tailed")).isEqualTo(r.number("appends")).isPositive();
        assertThat(r.number("records verified")).isEqualTo(r.number("appends"));
    }

    @Test
    void replayReadsTheWholeHistoryFromObjectsWhileIngestContinues() throws Exception {
        ScenarioResult r = run(new ReplayScenario(), "replay");
        assertThat(r.number("replayed records")).isEqualTo(r.number("history appends")).isPositive();
        assertThat(r.number("replay read amplification (loaded / returned)")).as("framing makes it above 1")
                .isGreaterThan(1.0).isLessThan(10.0);
        assertThat(r.number("records verified")).isEqualTo(r.number("history appends")
                + r.number("without replay: appends") + r.number("during replay: appends"));
    }

    /** With a replay quota the replay still reads everything; the tenant's counters show it was counted. */
    @Test
    void replayWithAQuotaReadsTheWholeHistoryAndReportsItsRateAgainstTheQuota() throws Exception {
        ScenarioResult r = run(new ReplayScenario(), "replay", "--replay-quota", "64m");
        assertThat(r.number("replayed records")).isEqualTo(r.number("history appends")).isPositive();
        assertThat(r.number("replay quota MiB")).isEqualTo(64.0);
        assertThat(r.number("replay throughput / quota")).isPositive();
    }

    @Test
    void burstStormCompletesWithOnlyRetriableBackpressure() throws Exception {
        ScenarioResult r = run(new BurstScenario(), "burst");
        assertThat(r.number("storm appends")).isPositive();
        assertThat(r.number("failures other than backpressure")).isZero();
        assertThat(r.number("records verified")).isGreaterThanOrEqualTo(r.number("storm appends"));
    }

    @Test
    void recoveryAfterKillServesEveryAcknowledgedRecord() throws Exception {
        ScenarioResult r = run(new RecoveryScenario(), "recovery");
        assertThat(r.number("acknowledged before kill")).isPositive();
        assertThat(r.number("records verified")).isGreaterThanOrEqualTo(r.number("acknowledged before kill"));
        assertThat(r.number("time to serve")).isPositive();
    }

    @Test
    void retentionCompactsTrimmedStreamsAndReadsEveryLiveRecordBack() throws Exception {
        ScenarioResult r = run(new RetentionScenario(), "retention");
        assertThat(r.number("appends")).isPositive();
        assertThat(r.number("compaction tasks")).isPositive();
        assertThat(r.number("records verified")).isPositive().isLessThan(r.number("appends"));
        assertThat(r.number("storage amplification")).isBetween(1.0, 1.3);
        assertThat(r.number("DELETE requests per ingested GiB")).isPositive();
    }
}
