package dev.strata.jmh.runner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * The {@code --plot} chart: one self-contained HTML file (inline SVG, no script, no network) with
 * every latency histogram of the run as a percentile curve, HdrHistogram style: the x axis is
 * {@code 1/(1-p)} on a log scale (50%, 90%, 99%, 99.9%, ...), the y axis milliseconds on a log scale.
 */
final class LatencyChart {
    static final int WIDTH = 1160;
    static final int HEIGHT = 560;
    static final int LEFT = 70;
    static final int RIGHT = 530;
    static final int TOP = 40;
    static final int BOTTOM = 50;
    /** Highest percentile drawn: 99.999%. */
    static final double MAX_X = 1e5;
    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

    private LatencyChart() {
    }

    static void write(Path file, List<ScenarioResult> results) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, render(results), StandardCharsets.UTF_8);
    }

    record Series(String name, List<double[]> points) {
    }

    static String render(List<ScenarioResult> results) {
        List<Series> series = new ArrayList<>();
        double minMs = Double.MAX_VALUE;
        double maxMs = 0;
        for (ScenarioResult r : results) {
            for (Map.Entry<String, Histogram> e : r.latencies().entrySet()) {
                Histogram h = e.getValue();
                if (h.getTotalCount() == 0) {
                    continue;
                }
                List<double[]> points = new ArrayList<>();
                for (HistogramIterationValue v : h.percentiles(5)) {
                    double p = v.getPercentileLevelIteratedTo();
                    double x = p >= 100 ? MAX_X : Math.min(MAX_X, 1 / (1 - p / 100));
                    double ms = Math.max(0.001, h.highestEquivalentValue(v.getValueIteratedTo()) / 1e6);
                    points.add(new double[] {x, ms});
                    minMs = Math.min(minMs, ms);
                    maxMs = Math.max(maxMs, ms);
                }
                series.add(new Series(r.scenario + ": " + e.getKey(), points));
            }
        }
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"11\">%n", WIDTH, HEIGHT));
        if (series.isEmpty()) {
            svg.append("<text x=\"20\" y=\"40\">no latency samples in this run</text>\n</svg>\n");
            return page(svg.toString());
        }
        double yLow = Math.pow(10, Math.floor(Math.log10(minMs)));
        double yHigh = Math.pow(10, Math.ceil(Math.log10(maxMs)));
        if (yHigh <= yLow) {
            yHigh = yLow * 10;
        }
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>%n",
                LEFT, TOP, plotW, plotH));
        String[] xLabels = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"};
        for (int i = 0; i <= 5; i++) {
            double px = LEFT + plotW * (i / 5.0);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, TOP, px, TOP + plotH, px,
                    TOP + plotH + 16, xLabels[i]));
        }
        for (double y = yLow; y <= yHigh * 1.0001; y *= 10) {
            double py = yPixel(y, yLow, yHigh, plotH);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s ms</text>%n", LEFT, py, LEFT + plotW, py,
                    LEFT - 6, py + 4, Format.human(y)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">percentile</text>%n",
                LEFT + plotW / 2, HEIGHT - 12));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"14\">Strata workload runner: latency by percentile</text>%n", LEFT));
        for (int s = 0; s < series.size(); s++) {
            String color = COLORS[s % COLORS.length];
            StringBuilder pts = new StringBuilder();
            for (double[] p : series.get(s).points()) {
                double px = LEFT + plotW * Math.log10(p[0]) / Math.log10(MAX_X);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, yPixel(p[1], yLow, yHigh, plotH)));
            }
            svg.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                    color, pts.toString().trim()));
            int ly = TOP + 8 + s * 16;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", LEFT + plotW + 12, ly, LEFT + plotW + 30, ly, color,
                    LEFT + plotW + 36, ly + 4, escape(series.get(s).name())));
        }
        svg.append("</svg>\n");
        return page(svg.toString());
    }

    private static double yPixel(double ms, double yLow, double yHigh, int plotH) {
        double f = (Math.log10(ms) - Math.log10(yLow)) / (Math.log10(yHigh) - Math.log10(yLow));
        return TOP + plotH * (1 - f);
    }

    private static String page(String svg) {
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>strata-bench latency</title></head>\n<body>\n"
                + svg + "</body></html>\n";
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
