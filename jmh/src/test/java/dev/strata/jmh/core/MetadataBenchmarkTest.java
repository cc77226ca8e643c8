package dev.strata.jmh.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each backend of {@link MetadataBenchmark} runs its whole trial (setup, every benchmark method,
 * teardown) with a few calls at once: the benchmark's parameters reach a working store. No timing.
 */
class MetadataBenchmarkTest {

    @ParameterizedTest
    @CsvSource({"local, 0", "local, 1", "s3-in-process, 0", "s3-in-process, 1"})
    void aTrialRunsOn(String storeUri, long putLatencyMillis) throws Exception {
        MetadataBenchmark bench = new MetadataBenchmark();
        bench.storeUri = storeUri;
        bench.putLatencyMillis = putLatencyMillis;
        bench.concurrency = 20;
        bench.open();
        try {
            bench.createStream();
            bench.openStreamWithNewEpoch();
            bench.trim();
            assertThat(bench.streams).hasSize(20);
            for (Stream s : bench.streams) {
                assertThat(s.epoch()).isEqualTo(2);
                assertThat(s.startOffset()).isEqualTo(1);
            }
        } finally {
            bench.close();
        }
    }
}
