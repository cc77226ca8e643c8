package dev.strata.jmh.kafka;

import dev.strata.core.DurableStreamStore;
import dev.strata.jmh.core.BenchDirs;
import dev.strata.kafka.AppendInfo;
import dev.strata.kafka.GatheredRecords;
import dev.strata.kafka.Isolation;
import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.PartitionLogConfig;
import dev.strata.kafka.ReadResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.log.UnifiedLog;
import org.apache.kafka.storage.log.metrics.BrokerTopicStats;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Catch-up reads of whole partitions: 16 partitions of {@link #partitionMiB} MiB each, written
 * before the measurement with the producer batches of {@link KafkaLogAppendBenchmark}, then read
 * from the log start to the end (and again, round and round) with {@code read(offset, 1 MiB,
 * HIGH_WATERMARK, minOneMessage=true)} by 16 threads, one partition each.
 *
 * <ul>
 *   <li>{@code strata}: after writing, the store is closed (which uploads everything) and opened
 *       again, so the log cache is empty and every read comes from the data objects (local object
 *       directory on the same disk, through Strata's block cache, 256 MiB by default: smaller than
 *       the data, so a sequential pass does not stay in it).</li>
 *   <li>{@code kafka}: Kafka's {@code UnifiedLog} (default config) reads its segments; the slice is
 *       copied to the heap (see {@link KafkaReads}).</li>
 * </ul>
 * Kafka reads through the OS page cache (its segments were just written and nothing here drops the
 * page cache). Strata does not: the local object store reads ranges of 256 KiB or more with
 * {@code O_DIRECT} where the file system allows it, so its reads come from the disk (and its block
 * cache), as they would from a bucket.
 *
 * <p>Score: reads/s (JMH); MiB/s of complete batches returned is printed per iteration as a
 * {@code KAFKA-FETCH} line, with the share of those bytes Strata's reads copied ({@code copied}: 0,
 * since the batches are walked in place in Strata's fetch buffers through
 * {@code ReadResult.wireRecords()}, as a broker sends them; Kafka's reads here always copy). Every read is checked: its batches continue at the offset expected.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(KafkaLogAppendBenchmark.PARTITIONS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "-XX:MaxDirectMemorySize=2g"})
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 5)
public class KafkaLogFetchBenchmark {
    static final int PARTITIONS = KafkaLogAppendBenchmark.PARTITIONS;
    static final int MAX_BYTES = 1 << 20;

    /** {@code strata} or {@code kafka}. */
    @Param({"strata", "kafka"})
    public String system;

    /** Data written to each partition before the measurement. */
    @Param({"64"})
    public int partitionMiB;

    Path dir;
    ProducerBatches batches;
    DurableStreamStore store;
    final List<KafkaPartitionLog> strataLogs = new ArrayList<>();
    KafkaScheduler scheduler;
    final List<UnifiedLog> kafkaLogs = new ArrayList<>();
    final AtomicInteger nextPartition = new AtomicInteger();
    final AtomicLong bytesRead = new AtomicLong();
    final AtomicLong reads = new AtomicLong();
    /** Bytes Strata's reads copied to join several stored batches (0 for reads of one batch). */
    final AtomicLong bytesCopied = new AtomicLong();
    final AtomicLong backpressureRetries = new AtomicLong();
    long batchesPerPartition;
    long iterationStart;

    @Setup(Level.Trial)
    public void open() throws IOException {
        if (!system.equals("strata") && !system.equals("kafka")) {
            throw new IllegalArgumentException("system must be strata or kafka, got " + system);
        }
        dir = BenchDirs.create("strata-kafka-fetch");
        batches = new ProducerBatches(KafkaLogAppendBenchmark.BATCH_SIZE, KafkaLogAppendBenchmark.RECORD_BYTES,
                System.currentTimeMillis());
        batchesPerPartition = Math.max(1, ((long) partitionMiB << 20) / batches.bytes());
        long start = System.nanoTime();
        if (system.equals("strata")) {
            writeStrata();
        } else {
            writeKafka();
        }
        System.out.printf("%nKAFKA-FETCH-SETUP system=%s partitions=%d batchesPerPartition=%d written in %.1f s backpressureRetries=%d%n",
                system, PARTITIONS, batchesPerPartition, (System.nanoTime() - start) / 1e9, backpressureRetries.get());
    }

    private void writeStrata() {
        Path data = dir.resolve("strata");
        List<Long> streamIds = new ArrayList<>();
        store = KafkaLogs.openStrata(data);
        for (int i = 0; i < PARTITIONS; i++) {
            strataLogs.add(KafkaPartitionLog.create(store, 0, PartitionLogConfig.defaults()).join());
            streamIds.add(strataLogs.get(i).streamId());
        }
        ArrayDeque<CompletableFuture<AppendInfo>> inFlight = new ArrayDeque<>();
        for (long b = 0; b < batchesPerPartition; b++) {
            for (KafkaPartitionLog log : strataLogs) {
                inFlight.add(KafkaLogs.append(log, batches, backpressureRetries));
                if (inFlight.size() >= 4 * PARTITIONS) {
                    inFlight.poll().join();
                }
            }
        }
        inFlight.forEach(CompletableFuture::join);
        closeStrata(); // uploads what is still only in the WAL
        store = KafkaLogs.openStrata(data);
        for (long id : streamIds) {
            strataLogs.add(KafkaPartitionLog.open(store, id, 1, PartitionLogConfig.defaults()).join());
        }
    }

    private void writeKafka() throws IOException {
        scheduler = new KafkaScheduler(1);
        scheduler.startup();
        BrokerTopicStats stats = new BrokerTopicStats();
        for (int i = 0; i < PARTITIONS; i++) {
            kafkaLogs.add(KafkaLogs.openKafka(dir.resolve("kafka"), i, KafkaLogs.kafkaConfig(false), scheduler, stats));
        }
        for (long b = 0; b < batchesPerPartition; b++) {
            for (UnifiedLog log : kafkaLogs) {
                log.appendAsLeader(batches.copy(), 0);
            }
        }
        for (UnifiedLog log : kafkaLogs) {
            log.updateHighWatermark(log.logEndOffset());
        }
    }

    private void closeStrata() {
        for (KafkaPartitionLog log : strataLogs) {
            log.close();
        }
        strataLogs.clear();
        if (store != null) {
            store.close();
            store = null;
        }
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        bytesRead.set(0);
        reads.set(0);
        bytesCopied.set(0);
        iterationStart = System.nanoTime();
    }

    @TearDown(Level.Iteration)
    public void printIteration() {
        double seconds = (System.nanoTime() - iterationStart) / 1e9;
        String copied = !system.equals("strata") ? "all" // KafkaReads copies every read
                : String.format("%.1f%%", bytesRead.get() == 0 ? 0.0 : 100.0 * bytesCopied.get() / bytesRead.get());
        System.out.printf("%nKAFKA-FETCH system=%s partitions=%d reads=%d MiB/s=%.1f copied=%s%n",
                system, PARTITIONS, reads.get(), bytesRead.get() / seconds / (1 << 20), copied);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        try {
            closeStrata();
            KafkaLogs.closeKafka(kafkaLogs, scheduler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            BenchDirs.delete(dir);
        }
    }

    /** One consumer: its partition and the next offset it reads. */
    @State(Scope.Thread)
    public static class Consumer {
        int partition;
        long offset;
        /** Complete passes over the partition (start to end). */
        long passes;

        @Setup(Level.Trial)
        public void pick(KafkaLogFetchBenchmark bench) {
            partition = bench.nextPartition.getAndIncrement();
            if (partition >= PARTITIONS) {
                throw new IllegalStateException("more threads than partitions: run with -t " + PARTITIONS + " or fewer");
            }
        }
    }

    /**
     * One read of up to 1 MiB; returns the bytes of the complete batches it returned. Strata's read
     * result is closed after the batches are walked in place ({@code wireRecords()}: views of the
     * fetch buffers, one batch or several; any copy would be counted in the {@code copied} figure).
     */
    @Benchmark
    public long fetch(Consumer consumer) throws IOException {
        if (system.equals("strata")) {
            KafkaPartitionLog log = strataLogs.get(consumer.partition);
            long end = log.logEndOffset();
            try (ReadResult read = log.read(consumer.offset, MAX_BYTES, Isolation.HIGH_WATERMARK, true).join()) {
                org.apache.kafka.common.record.internal.BaseRecords wire = read.wireRecords();
                long bytes = walk(consumer, wire instanceof GatheredRecords several ? several.batches()
                        : ((MemoryRecords) wire).batches(), end);
                bytesCopied.addAndGet(read.copiedBytes());
                return bytes;
            }
        }
        UnifiedLog log = kafkaLogs.get(consumer.partition);
        long end = log.logEndOffset();
        return walk(consumer, KafkaReads.copyCompleteBatches(log, consumer.offset, MAX_BYTES).batches(), end);
    }

    private long walk(Consumer consumer, Iterable<? extends RecordBatch> batches, long end) {
        long bytes = 0;
        for (RecordBatch batch : batches) {
            if (batch.baseOffset() != consumer.offset) {
                throw new IllegalStateException("partition " + consumer.partition + ": read a batch at " + batch.baseOffset()
                        + ", expected " + consumer.offset);
            }
            consumer.offset = batch.nextOffset();
            bytes += batch.sizeInBytes();
        }
        if (bytes == 0) {
            throw new IllegalStateException("partition " + consumer.partition + ": empty read at " + consumer.offset
                    + " below the end " + end);
        }
        if (consumer.offset == end) {
            consumer.offset = 0;
            consumer.passes++;
        }
        bytesRead.addAndGet(bytes);
        reads.incrementAndGet();
        return bytes;
    }
}
