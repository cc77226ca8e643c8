package dev.strata.jmh.runner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * The JSON report, written by hand (no JSON library): the options, every figure of every scenario,
 * each latency histogram as percentile points (for plotting and comparison between runs), and the
 * baseline rows.
 */
final class JsonReport {
    private JsonReport() {
    }

    static void write(Path file, RunnerOptions o, List<ScenarioResult> results, List<String> baseline)
            throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, render(o, results, baseline), StandardCharsets.UTF_8);
    }

    static String render(RunnerOptions o, List<ScenarioResult> results, List<String> baseline) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n  \"tool\": \"strata-bench\",\n  \"time\": ").append(quote(Instant.now().toString()));
        sb.append(",\n  \"cores\": ").append(Runtime.getRuntime().availableProcessors());
        sb.append(",\n  \"java\": ").append(quote(System.getProperty("java.version")));
        sb.append(",\n  \"options\": {\"scenarios\": [");
        for (int i = 0; i < o.scenarios().size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(quote(o.scenarios().get(i).label()));
        }
        sb.append("]")
                .append(", \"durationMs\": ").append(o.duration().toMillis())
                .append(", \"streams\": ").append(o.streams())
                .append(", \"recordBytes\": ").append(o.recordBytes())
                .append(", \"rate\": ").append(o.rate())
                .append(", \"objectStore\": ").append(quote(Conditions.objectStore(o)))
                .append(", \"walBytes\": ").append(o.walBytes())
                .append(", \"cacheBytes\": ").append(o.cacheBytes())
                .append(", \"replayBatchBytes\": ").append(o.replayBatchBytes())
                .append(", \"walBackend\": ").append(quote(o.walBackend().name().toLowerCase(java.util.Locale.ROOT)))
                .append(", \"stages\": ").append(o.stages()).append("},\n");
        sb.append("  \"scenarios\": [");
        for (int i = 0; i < results.size(); i++) {
            ScenarioResult r = results.get(i);
            sb.append(i == 0 ? "\n" : ",\n").append("    {\"name\": ").append(quote(r.scenario)).append(", \"figures\": {");
            appendFigures(sb, r.figures());
            sb.append("}, \"latencies\": {");
            Iterator<Map.Entry<String, Histogram>> it = r.latencies().entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<String, Histogram> e = it.next();
                sb.append("\n      ").append(quote(e.getKey())).append(": ");
                appendHistogram(sb, e.getValue());
                sb.append(it.hasNext() ? "," : "\n    ");
            }
            sb.append("}}");
        }
        sb.append("\n  ],\n  \"baseline\": [");
        for (int i = 0; i < baseline.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(quote(baseline.get(i)));
        }
        return sb.append("]\n}\n").toString();
    }

    private static void appendFigures(StringBuilder sb, Map<String, ScenarioResult.Figure> figures) {
        boolean first = true;
        for (Map.Entry<String, ScenarioResult.Figure> e : figures.entrySet()) {
            sb.append(first ? "" : ", ");
            first = false;
            String key = e.getValue().unit().isEmpty() ? e.getKey() : e.getKey() + " (" + e.getValue().unit() + ")";
            sb.append(quote(key)).append(": ").append(value(e.getValue().value()));
        }
    }

    /** Count, then [percentile, milliseconds] points from HdrHistogram's percentile iteration. */
    private static void appendHistogram(StringBuilder sb, Histogram h) {
        sb.append("{\"count\": ").append(h.getTotalCount()).append(", \"percentilesMs\": [");
        boolean first = true;
        if (h.getTotalCount() > 0) {
            for (HistogramIterationValue v : h.percentiles(5)) {
                sb.append(first ? "" : ", ").append('[').append(number(v.getPercentileLevelIteratedTo())).append(", ")
                        .append(number(v.getValueIteratedTo() / 1e6)).append(']');
                first = false;
            }
        }
        sb.append("]}");
    }

    private static String value(Object v) {
        if (v instanceof Number n) {
            return number(n.doubleValue());
        }
        if (v instanceof Boolean b) {
            return b.toString();
        }
        return quote(String.valueOf(v));
    }

    static String number(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "null";
        }
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
