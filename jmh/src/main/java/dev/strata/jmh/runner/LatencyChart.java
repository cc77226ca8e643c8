package dev.strata.jmh.runner;

import java.nio.file.Path;
import java.util.List;

/** Placeholder. */
final class LatencyChart {
    private LatencyChart() {
    }

    static void write(Path file, List<ScenarioResult> results) {
        throw new UnsupportedOperationException("not yet");
    }
}
