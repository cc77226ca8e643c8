package dev.strata.jmh.runner;

import dev.strata.core.DurableStreamStore;
import java.util.List;

/**
 * Ingest: N streams appended to at a target rate (or as fast as possible) for the duration.
 * Measures throughput and append latency percentiles (coordinated-omission corrected at a target
 * rate); verifies afterwards that every record reads back with its bytes.
 */
final class IngestScenario implements Scenario {

    @Override
    public ScenarioResult run(RunContext context) throws Exception {
        RunnerOptions o = context.options;
        ScenarioResult result = new ScenarioResult("ingest");
        StoreSettings settings = context.freshStore("ingest");
        try (DurableStreamStore store = settings.open()) {
            List<StreamSlot> slots = StreamSlot.create(store, o.streams());
            LoadDriver driver = new LoadDriver(slots, o.recordBytes(), o.rate(), Long.MAX_VALUE, null)
                    .start(context.durationNanos());
            context.progress.phase("ingest", () -> IngestFigures.status(driver));
            driver.await();
            context.progress.end();
            driver.rethrowFailure();
            result.add("streams", o.streams(), "").add("record size", o.recordBytes(), "bytes");
            IngestFigures.add(result, "", driver, o.rate(), o.recordBytes());
            StageRecorder.addTo(result, "", settings.stages(), null, driver.appended.get());
            result.add("records verified", Verifier.verifyAll(slots, o.recordBytes()), "");
        }
        return result;
    }
}
