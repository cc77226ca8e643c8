package dev.strata.jmh.runner;

import dev.strata.core.DurableStreamStore;
import java.util.List;

/**
 * Tail: a tailing reader on every stream during ingest. Measures end-to-end latency, from the
 * append's intended time to the read, and verifies every record the readers see, then everything.
 */
final class TailScenario implements Scenario {

    @Override
    public ScenarioResult run(RunContext context) throws Exception {
        RunnerOptions o = context.options;
        ScenarioResult result = new ScenarioResult("tail");
        StoreSettings settings = context.freshStore("tail");
        try (DurableStreamStore store = settings.open()) {
            List<StreamSlot> slots = StreamSlot.create(store, o.streams());
            TailReaders readers = new TailReaders(slots, o.recordBytes(), settings.stages()).start();
            LoadDriver driver = new LoadDriver(slots, o.recordBytes(), o.rate(), Long.MAX_VALUE, null)
                    .start(context.durationNanos());
            context.progress.phase("tail", () -> IngestFigures.status(driver) + ", " + readers.recordsRead.get() + " read");
            driver.await();
            readers.finishAndAwait();
            context.progress.end();
            driver.rethrowFailure();
            result.add("streams", o.streams(), "").add("record size", o.recordBytes(), "bytes");
            IngestFigures.add(result, "", driver, o.rate(), o.recordBytes());
            result.add("records tailed", readers.recordsRead.get(), "");
            result.addLatency("end-to-end latency", readers.latency);
            StageRecorder.addTo(result, "", settings.stages(), null, driver.appended.get());
            result.add("records verified", Verifier.verifyAll(slots, o.recordBytes()), "");
        }
        return result;
    }
}
