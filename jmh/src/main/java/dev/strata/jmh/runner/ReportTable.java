package dev.strata.jmh.runner;

import java.util.List;
import java.util.Map;

/** The human-readable table: one row per figure, grouped by scenario, then the baseline rows. */
final class ReportTable {
    private ReportTable() {
    }

    static String render(List<ScenarioResult> results, List<String> baseline) {
        int nameWidth = "figure".length();
        for (ScenarioResult r : results) {
            for (String name : r.figures().keySet()) {
                nameWidth = Math.max(nameWidth, name.length());
            }
        }
        StringBuilder sb = new StringBuilder();
        String rowFormat = "%-9s  %-" + nameWidth + "s  %14s  %s%n";
        sb.append(String.format(rowFormat, "scenario", "figure", "value", "unit"));
        sb.append("-".repeat(9 + 2 + nameWidth + 2 + 14 + 2 + 9)).append('\n');
        for (ScenarioResult r : results) {
            String label = r.scenario;
            for (Map.Entry<String, ScenarioResult.Figure> e : r.figures().entrySet()) {
                sb.append(String.format(rowFormat, label, e.getKey(), Format.human(e.getValue().value()),
                        e.getValue().unit()));
                label = "";
            }
        }
        if (!baseline.isEmpty()) {
            sb.append("\ndisk baseline (fio-baseline.sh, same run):\n");
            for (String line : baseline) {
                sb.append("  ").append(line).append('\n');
            }
        }
        return sb.toString();
    }
}
