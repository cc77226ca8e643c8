package dev.strata.jmh.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class LatencyChartTest {

    @Test
    void chartIsSelfContainedHtmlWithOneCurvePerHistogram() {
        Histogram a = new Histogram(3);
        Histogram b = new Histogram(3);
        for (int i = 1; i <= 1000; i++) {
            a.recordValue(i * 1000L);
            b.recordValue(i * 50_000L);
        }
        ScenarioResult r = new ScenarioResult("ingest").addLatency("append latency", a).addLatency("e2e <latency>", b);
        String html = LatencyChart.render(List.of(r));
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<svg", "ingest: append latency", "e2e &lt;latency&gt;")
                .doesNotContain("<script", "src=", "href=");
        assertThat(html.split("<polyline", -1)).hasSize(3);
    }

    @Test
    void runWithoutSamplesStillGivesAPage() {
        assertThat(LatencyChart.render(List.of(new ScenarioResult("x")))).contains("no latency samples");
    }
}
