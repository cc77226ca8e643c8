package dev.strata.jmh.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each variant of the Kafka log benchmarks runs a trial (setup, a few calls of the benchmark method
 * per partition, iteration and trial teardown) and what it wrote reads back: contiguous offsets,
 * valid batches. No timing.
 */
class KafkaLogBenchmarksTest {
    private static final int ROUNDS = 6;

    @ParameterizedTest
    @CsvSource({"strata, 1, false", "strata, 4, false", "strata, 4, true", "kafka-durable, 1, false",
            "kafka-pagecache, 1, false"})
    void anAppendTrialRunsAndItsBatchesReadBack(String system, int inFlight, boolean offDiskObjects) throws Exception {
        KafkaLogAppendBenchmark bench = new KafkaLogAppendBenchmark();
        bench.system = system;
        bench.inFlight = inFlight;
        bench.offDiskObjects = offDiskObjects;
        bench.open();
        try {
            List<KafkaLogAppendBenchmark.Producer> producers = new ArrayList<>();
            for (int i = 0; i < KafkaLogAppendBenchmark.PARTITIONS; i++) {
                KafkaLogAppendBenchmark.Producer p = new KafkaLogAppendBenchmark.Producer();
                p.pick(bench);
                producers.add(p);
            }
            bench.startIteration();
            for (int round = 0; round < ROUNDS; round++) {
                for (KafkaLogAppendBenchmark.Producer p : producers) {
                    bench.append(p);
                }
            }
            producers.forEach(KafkaLogAppendBenchmark.Producer::drain);
            bench.printIteration();

            assertThat(bench.batches.records()).isEqualTo(15); // what batch.size=16384 holds of 1 KiB values
            assertThat(bench.latencyNanos.getTotalCount()).isEqualTo((long) ROUNDS * KafkaLogAppendBenchmark.PARTITIONS);
            assertThat(bench.verifyWritten()).isEqualTo((long) ROUNDS * KafkaLogAppendBenchmark.PARTITIONS);
        } finally {
            bench.close();
        }
        assertThat(bench.dir).doesNotExist();
        if (offDiskObjects) {
            assertThat(bench.manifestDir).doesNotExist();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"strata", "kafka"})
    void aFetchTrialReadsEveryPartitionFromStartToEnd(String system) throws Exception {
        KafkaLogFetchBenchmark bench = new KafkaLogFetchBenchmark();
        bench.system = system;
        bench.partitionMiB = 2; // two reads of 1 MiB and a bit per pass
        bench.open();
        try {
            List<KafkaLogFetchBenchmark.Consumer> consumers = new ArrayList<>();
            for (int i = 0; i < KafkaLogFetchBenchmark.PARTITIONS; i++) {
                KafkaLogFetchBenchmark.Consumer c = new KafkaLogFetchBenchmark.Consumer();
                c.pick(bench);
                consumers.add(c);
            }
            bench.startIteration();
            for (KafkaLogFetchBenchmark.Consumer c : consumers) {
                long bytes = 0;
                while (c.passes == 0) {
                    bytes += bench.fetch(c); // checks each read continues at the expected offset
                }
                assertThat(bytes).isEqualTo(bench.batchesPerPartition * bench.batches.bytes());
                assertThat(c.offset).isZero(); // wrapped to the start after the end
            }
            bench.printIteration();
        } finally {
            bench.close();
        }
        assertThat(bench.dir).doesNotExist();
    }
}
