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
        for (String phase : new String[] {"without replay: ", "during replay: "}) {
            assertThat(r.number(phase + "tail end-to-end latency p99")).as(phase + "live records tailed").isPositive();
        }
        assertThat(r.number("tail end-to-end p99 ratio during/without replay")).isPositive();
    }

    /** With a replay quota the replay still reads everything; the tenant's counters show it was counted. */
    @Test
    void replayWithAQuotaReadsTheWholeHistoryAndReportsItsRateAgainstTheQuota() throws Exception {
        ScenarioResult r = run(new ReplayScenario(), "replay", "--replay-quota", "64m");
        assertThat(r.number("replayed records")).isEqualTo(r.number("history appends")).isPositive();
        assertThat(r.number("replay quota MiB")).isEqualTo(64.0);
        assertThat(r.number("replay throughput / quota")).isPositive();
    }

    /**
     * The stage breakdown under {@code prefix}: one report per acknowledged append, every stage's
     * percentiles at most the total's (each stage is a part of each append's total).
     */
    private static void assertBreakdown(ScenarioResult r, String prefix, double appends) {
        assertThat(r.number(prefix + "stage breakdown: appends")).as(prefix + "reports").isEqualTo(appends).isPositive();
        String total = prefix + StageRecorder.TOTAL;
        assertThat(r.latencies()).containsKey(total);
        for (StageRecorder.Stage s : StageRecorder.Stage.values()) {
            String name = prefix + s.label;
            assertThat(r.latencies().get(name).getTotalCount()).as(name).isEqualTo((long) appends);
            for (String p : new String[] {" p50", " p99", " p99.9", " max"}) {
                assertThat(r.number(name + p)).as(name + p).isGreaterThanOrEqualTo(0.0)
                        .isLessThanOrEqualTo(r.number(total + p));
            }
        }
    }

    @Test
    void ingestWithStagesReportsAConsistentBreakdownOfEveryAppend() throws Exception {
        ScenarioResult r = run(new IngestScenario(), "ingest", "--stages");
        assertBreakdown(r, "", r.number("appends"));
        assertThat(r.number(StageRecorder.TOTAL + " p50")).as("engine total p50 within the driver's p50, which adds the hop to its callback")
                .isLessThanOrEqualTo(r.number("append latency p50") * 1.01 + 0.01);
        assertThat(r.figures()).noneSatisfy((name, f) -> assertThat(name).contains(StageRecorder.DELIVERY));
    }

    @Test
    void ingestWithoutStagesReportsNoBreakdown() throws Exception {
        ScenarioResult r = run(new IngestScenario(), "ingest");
        assertThat(r.figures().keySet()).noneMatch(name -> name.contains("stage"));
    }

    @Test
    void tailWithStagesReportsTheBreakdownAndVisibleToDelivered() throws Exception {
        ScenarioResult r = run(new TailScenario(), "tail", "--stages");
        assertBreakdown(r, "", r.number("appends"));
        assertThat(r.latencies().get(StageRecorder.DELIVERY).getTotalCount()).as("deliveries paired with their appends")
                .isPositive().isLessThanOrEqualTo((long) r.number("records tailed"));
        assertThat(r.number(StageRecorder.DELIVERY + " p50")).as("visible -> delivered is part of end-to-end")
                .isLessThanOrEqualTo(r.number("end-to-end latency p99"));
    }

    /** 16 KiB history batches, 200-byte live records: both verified; the replay compared with raw GETs; stages per phase. */
    @Test
    void replayOfLargeBatchesReportsItsSpeedAgainstRawGetsAndTheStagesOfBothPhases() throws Exception {
        ScenarioResult r = run(new ReplayScenario(), "replay", "--replay-batch-bytes", "16k", "--stages");
        assertThat(r.number("history batch size")).isEqualTo(16384.0);
        assertThat(r.number("replayed records")).isEqualTo(r.number("history appends")).isPositive();
        assertThat(r.number("history MiB")).isEqualTo(r.number("history appends") * 16384 / (1 << 20));
        assertThat(r.number("records verified")).isEqualTo(r.number("history appends")
                + r.number("without replay: appends") + r.number("during replay: appends"));
        assertThat(r.number("history objects")).isPositive();
        assertThat(r.number("history objects MiB")).as("the objects hold the history, with framing")
                .isGreaterThanOrEqualTo(r.number("history MiB"));
        for (int inFlight : ReplayScenario.RAW_IN_FLIGHT) {
            String raw = "raw ranged GETs of the history's objects (8 MiB, " + inFlight + " in flight)";
            assertThat(r.number(raw)).as(raw).isPositive();
            assertThat(r.number("replay speed / " + raw)).isPositive();
        }
        assertThat(r.figures().get("before replay: object files dropped from the page cache").value())
                .as("local objects are dropped from the page cache before the replay").isInstanceOf(Integer.class);
        assertBreakdown(r, "without replay: ", r.number("without replay: appends"));
        assertBreakdown(r, "during replay: ", r.number("during replay: appends"));
    }

    @Test
    void replayFromTheInProcessS3ServerComparesWithRawGetsOfTheSameObjects() throws Exception {
        ScenarioResult r = run(new ReplayScenario(), "replay", "--object-store", "s3-in-process");
        assertThat(r.number("replayed records")).isEqualTo(r.number("history appends")).isPositive();
        assertThat(r.number("replay speed / raw ranged GETs of the history's objects (8 MiB, 1 in flight)")).isPositive();
        assertThat(r.figures()).containsKey("before replay: object files dropped from the page cache");
    }

    @Test
    void theDiskBaselinesSequentialReadIsFoundAmongItsRows() {
        assertThat(ReplayScenario.fioSeqRead(java.util.List.of(
                "durable-4k-fdatasync       22.5 MiB/s      5772 ops/s  clat_us p50=1 p99=2 p99.9=3",
                "seqread-1m-qd1           1987.3 MiB/s      1987 ops/s  clat_us p50=480 p99=900 p99.9=1200")))
                .isEqualTo(1987.3);
        assertThat(ReplayScenario.fioSeqRead(java.util.List.of())).isNaN();
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
