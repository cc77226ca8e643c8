package dev.strata.jmh.runner;

import java.util.Locale;

/** The figures every ingest phase reports, under a common prefix. */
final class IngestFigures {
    private IngestFigures() {
    }

    /** A one-line status for the progress line. */
    static String status(LoadDriver driver) {
        return String.format(Locale.ROOT, "%,d appends, %,d backpressure retries", driver.appended.get(),
                driver.backpressure.get());
    }

    static void add(ScenarioResult r, String prefix, LoadDriver driver, long rate, int recordBytes) {
        r.add(prefix + "target rate", rate == 0 ? "max" : rate, rate == 0 ? "" : "appends/s");
        r.add(prefix + "appends", driver.appended.get(), "");
        r.add(prefix + "throughput", driver.appendsPerSecond(), "appends/s");
        r.add(prefix + "throughput MiB", driver.appendsPerSecond() * recordBytes / (1 << 20), "MiB/s");
        r.add(prefix + "backpressure retries", driver.backpressure.get(), "");
        if (rate > 0) {
            r.addLatency(prefix + "append latency (CO-corrected)", driver.latency);
            r.addLatency(prefix + "append service time", driver.serviceLatency);
        } else {
            r.addLatency(prefix + "append latency", driver.serviceLatency);
        }
    }
}
