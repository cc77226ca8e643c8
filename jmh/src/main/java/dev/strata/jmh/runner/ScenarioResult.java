package dev.strata.jmh.runner;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one scenario measured: named figures in the order they were added (each with a unit), and
 * the latency histograms behind the percentile figures (for the JSON report and the chart).
 * Not thread-safe: a scenario fills it from its own thread after the run.
 */
final class ScenarioResult {
    /** The percentiles reported for every latency. */
    static final double[] PERCENTILES = {50, 99, 99.9};

    /** One figure: a number or a text, and its unit ("" when none). */
    record Figure(Object value, String unit) {
    }

    final String scenario;
    private final Map<String, Figure> figures = new LinkedHashMap<>();
    private final Map<String, Histogram> latencies = new LinkedHashMap<>();

    ScenarioResult(String scenario) {
        this.scenario = scenario;
    }

    ScenarioResult add(String name, Object value, String unit) {
        figures.put(name, new Figure(value, unit));
        return this;
    }

    /** Adds {@code name p50/p99/p99.9/max} in milliseconds and keeps a copy of the histogram. */
    ScenarioResult addLatency(String name, Histogram h) {
        Histogram copy = h.copy();
        latencies.put(name, copy);
        if (copy.getTotalCount() == 0) {
            return add(name, "no samples", "");
        }
        for (double p : PERCENTILES) {
            add(name + " p" + Format.percentile(p), copy.getValueAtPercentile(p) / 1e6, "ms");
        }
        return add(name + " max", copy.getMaxValue() / 1e6, "ms");
    }

    Map<String, Figure> figures() {
        return Collections.unmodifiableMap(figures);
    }

    Map<String, Histogram> latencies() {
        return Collections.unmodifiableMap(latencies);
    }

    /** A figure's value as a number, or NaN if absent or not a number. */
    double number(String name) {
        Figure f = figures.get(name);
        return f != null && f.value() instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
