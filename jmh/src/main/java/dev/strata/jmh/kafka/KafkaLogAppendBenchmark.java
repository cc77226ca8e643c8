package dev.strata.jmh.kafka;

import dev.strata.core.DurableStreamStore;
import dev.strata.jmh.core.BenchDirs;
import dev.strata.jmh.core.OffDiskDataObjects;
import dev.strata.kafka.AppendInfo;
import dev.strata.kafka.Isolation;
import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.PartitionLogConfig;
import dev.strata.kafka.ReadResult;
import dev.strata.objectstore.LocalObjectStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.log.LogAppendInfo;
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
 * Producer-sized batches appended to 16 partitions at once, as a broker's leader log sees them:
 * {@link KafkaPartitionLog} on a durable Strata store against Kafka 4.3.1's own {@link UnifiedLog}
 * in the same JVM, under the same scratch directory ({@code -Dstrata.bench.dir}, default the temp
 * directory), so on the same disk.
 *
 * <p>Each batch is what a plain producer (no idempotence, no compression) sends with
 * {@code batch.size=16384} and 1 KiB values: built once with Kafka's {@code MemoryRecordsBuilder}
 * (15 records, about 15.6 KiB), copied fresh for every append because both logs stamp offsets in
 * place. {@code @Threads(16)}: each JMH thread is the producer of its own partition (one partition
 * per thread, no shared pool).
 *
 * <p>{@link #system}:
 * <ul>
 *   <li>{@code strata}: {@code KafkaPartitionLog.appendAsLeader} returns a future completed once
 *       the batch is durable in the WAL; each producer keeps {@link #inFlight} appends in flight
 *       (as {@code max.in.flight.requests.per.connection} does).</li>
 *   <li>{@code kafka-durable}: {@code UnifiedLog} with {@code flush.messages=1}: every append
 *       fsyncs the segment (and its indexes) under the log's lock before returning.</li>
 *   <li>{@code kafka-pagecache}: {@code UnifiedLog} with Kafka's defaults: no fsync, the data is in
 *       the page cache only when the append returns (durability comes from replication in Kafka).</li>
 * </ul>
 * Kafka's appends are synchronous, and a broker handles one request of a connection at a time
 * (it mutes the channel until the response is sent), so a producer's pipelining adds no
 * concurrency per partition there: for the Kafka systems {@link #inFlight} is ignored (always 1).
 *
 * <p>Score: batches/s (JMH's throughput; MiB/s = score x batch bytes / 2^20, also printed). Latency
 * from the call to the acknowledgement (the future's completion, or the synchronous return),
 * HdrHistogram, printed per iteration as a {@code KAFKA-APPEND} line with p50/p99/p99.9. Every
 * acknowledgement is checked: offsets of a partition are contiguous from 0.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(KafkaLogAppendBenchmark.PARTITIONS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "-XX:MaxDirectMemorySize=2g"})
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 5)
public class KafkaLogAppendBenchmark {
    static final int PARTITIONS = 16;
    static final int BATCH_SIZE = 16 * 1024;
    static final int RECORD_BYTES = 1024;

    /** {@code strata}, {@code kafka-durable} or {@code kafka-pagecache} (see the class comment). */
    @Param({"strata", "kafka-durable", "kafka-pagecache"})
    public String system;

    /** Appends each producer keeps in flight on its partition; Strata only (Kafka: 1). */
    @Param({"1", "4"})
    public int inFlight;

    /**
     * Strata only: when true, data objects leave the machine as they would with S3
     * ({@link OffDiskDataObjects}: read once through a CRC32C, then dropped; the manifest goes to a
     * directory in {@code /dev/shm}), so the WAL has the disk to itself; when false (default), the
     * embedded default's local object directory shares the WAL's disk and every byte is written to
     * it twice. With true, {@link #verifyWritten} checks offsets only (the object bytes are gone).
     */
    @Param({"false"})
    public boolean offDiskObjects;

    Path dir;
    Path manifestDir;
    LocalObjectStorage manifestStorage;
    OffDiskDataObjects offDisk;
    ProducerBatches batches;
    DurableStreamStore store;
    final List<KafkaPartitionLog> strataLogs = new ArrayList<>();
    KafkaScheduler scheduler;
    final List<UnifiedLog> kafkaLogs = new ArrayList<>();
    final AtomicInteger nextPartition = new AtomicInteger();
    final AtomicLong backpressureRetries = new AtomicLong();
    final Histogram latencyNanos = new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(30), 3);
    final List<Producer> producers = new ArrayList<>(); // guarded by: itself
    long iterationStart;

    @Setup(Level.Trial)
    public void open() throws IOException {
        if (!system.equals("strata") && !system.equals("kafka-durable") && !system.equals("kafka-pagecache")) {
            throw new IllegalArgumentException("system must be strata, kafka-durable or kafka-pagecache, got " + system);
        }
        if (inFlight < 1) {
            throw new IllegalArgumentException("inFlight must be >= 1, got " + inFlight);
        }
        dir = BenchDirs.create("strata-kafka-append");
        batches = new ProducerBatches(BATCH_SIZE, RECORD_BYTES, System.currentTimeMillis());
        if (isStrata()) {
            if (offDiskObjects) {
                manifestDir = Files.createTempDirectory(memoryDir(), "strata-kafka-append-manifest");
                manifestStorage = LocalObjectStorage.open(manifestDir);
                offDisk = new OffDiskDataObjects(manifestStorage);
            }
            store = KafkaLogs.openStrata(dir.resolve("strata"), offDisk);
            for (int i = 0; i < PARTITIONS; i++) {
                strataLogs.add(KafkaPartitionLog.create(store, 0, PartitionLogConfig.defaults()).join());
            }
        } else {
            scheduler = new KafkaScheduler(1);
            scheduler.startup();
            BrokerTopicStats stats = new BrokerTopicStats();
            for (int i = 0; i < PARTITIONS; i++) {
                kafkaLogs.add(KafkaLogs.openKafka(dir.resolve("kafka"), i,
                        KafkaLogs.kafkaConfig(system.equals("kafka-durable")), scheduler, stats));
            }
        }
    }

    /** Where the manifest goes with {@link #offDiskObjects}: memory ({@code /dev/shm}) where there is one. */
    private static Path memoryDir() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    boolean isStrata() {
        return system.equals("strata");
    }

    int effectiveInFlight() {
        return isStrata() ? inFlight : 1;
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        latencyNanos.reset();
        backpressureRetries.set(0);
        iterationStart = System.nanoTime();
    }

    @TearDown(Level.Iteration)
    public void printIteration() {
        double seconds = (System.nanoTime() - iterationStart) / 1e9;
        long acked = latencyNanos.getTotalCount();
        System.out.printf("%nKAFKA-APPEND system=%s wal=%s objects=%s inFlight=%d partitions=%d batchBytes=%d records=%d acked=%d"
                        + " batches/s=%.0f MiB/s=%.1f p50=%dus p99=%dus p99.9=%dus max=%dus backpressureRetries=%d%n",
                system, store == null ? "-" : store.walBackend(), !isStrata() ? "-" : offDiskObjects ? "off-disk" : "local-dir",
                effectiveInFlight(), PARTITIONS, batches.bytes(), batches.records(), acked, acked / seconds,
                acked * (double) batches.bytes() / seconds / (1 << 20),
                latencyNanos.getValueAtPercentile(50) / 1000, latencyNanos.getValueAtPercentile(99) / 1000,
                latencyNanos.getValueAtPercentile(99.9) / 1000, latencyNanos.getMaxValue() / 1000,
                backpressureRetries.get());
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        try {
            for (KafkaPartitionLog log : strataLogs) {
                log.close();
            }
            if (store != null) {
                store.close();
            }
            KafkaLogs.closeKafka(kafkaLogs, scheduler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (offDisk != null) {
                System.out.printf("%nOFF-DISK-OBJECTS dataObjectBytes=%d puts=%s%n", offDisk.dataObjectBytes(), offDisk.metrics());
                manifestStorage.close();
                BenchDirs.delete(manifestDir);
            }
            BenchDirs.delete(dir); // before Kafka's dirty pages reach the disk under the next trial
        }
    }

    /**
     * Checks what was written, after the trial's appends (for tests; not part of a measurement):
     * every partition's log end offset is its acknowledged records, and reading each log from 0
     * returns contiguous batches with valid CRCs. Call before {@link #close()}.
     *
     * @return the batches read back, over all partitions
     * @throws IllegalStateException on any difference
     */
    public long verifyWritten() throws IOException {
        long total = 0;
        synchronized (producers) {
            for (Producer p : producers) {
                p.drain();
                long end = isStrata() ? strataLogs.get(p.partition).logEndOffset() : kafkaLogs.get(p.partition).logEndOffset();
                if (end != p.nextOffset) {
                    throw new IllegalStateException("partition " + p.partition + ": log end offset " + end
                            + " but acknowledged up to " + p.nextOffset);
                }
                if (!isStrata()) {
                    kafkaLogs.get(p.partition).updateHighWatermark(end); // a broker moves it as followers catch up
                }
                if (offDiskObjects) {
                    total += end / batches.records(); // the uploaded bytes were dropped: offsets only
                    continue;
                }
                long offset = 0;
                while (offset < end) {
                    MemoryRecords read = isStrata() ? strataCopy(strataLogs.get(p.partition), offset)
                            : KafkaReads.copyCompleteBatches(kafkaLogs.get(p.partition), offset, 1 << 20);
                    boolean progressed = false;
                    for (RecordBatch batch : read.batches()) {
                        batch.ensureValid();
                        if (batch.baseOffset() != offset || batch.countOrNull() != batches.records()) {
                            throw new IllegalStateException("partition " + p.partition + ": batch at " + batch.baseOffset()
                                    + " with " + batch.countOrNull() + " records, expected one at " + offset);
                        }
                        offset = batch.nextOffset();
                        total++;
                        progressed = true;
                    }
                    if (!progressed) {
                        throw new IllegalStateException("partition " + p.partition + ": a read at " + offset
                                + " below the log end offset " + end + " returned no batch (" + read.sizeInBytes() + " bytes)");
                    }
                }
            }
        }
        return total;
    }

    /** Up to 1 MiB read from {@code offset}, copied to the heap (the read result is closed). */
    private static MemoryRecords strataCopy(KafkaPartitionLog log, long offset) {
        try (ReadResult r = log.read(offset, 1 << 20, Isolation.HIGH_WATERMARK, true).join()) {
            ByteBuffer records = r.records().buffer();
            return MemoryRecords.readableRecords(ByteBuffer.allocate(records.remaining()).put(records).flip());
        }
    }

    /** One producer: its partition, its appends in flight, the next offset it expects. */
    @State(Scope.Thread)
    public static class Producer {
        int partition;
        long nextOffset;
        final ArrayDeque<CompletableFuture<AppendInfo>> inFlight = new ArrayDeque<>();

        @Setup(Level.Trial)
        public void pick(KafkaLogAppendBenchmark bench) {
            partition = bench.nextPartition.getAndIncrement();
            if (partition >= PARTITIONS) {
                throw new IllegalStateException("more threads than partitions: run with -t " + PARTITIONS + " or fewer");
            }
            synchronized (bench.producers) {
                bench.producers.add(this);
            }
        }

        @TearDown(Level.Iteration)
        public void drain() {
            while (!inFlight.isEmpty()) {
                acknowledged(inFlight.poll().join());
            }
        }

        void acknowledged(AppendInfo info) {
            check(info.baseOffset(), info.lastOffset());
        }

        void check(long base, long last) {
            if (base != nextOffset) {
                throw new IllegalStateException("partition " + partition + ": batch acknowledged at offset " + base
                        + ", expected " + nextOffset + " (offsets must be contiguous)");
            }
            nextOffset = last + 1;
        }
    }

    @Benchmark
    public long append(Producer producer) throws IOException {
        if (!isStrata()) {
            UnifiedLog log = kafkaLogs.get(producer.partition);
            MemoryRecords records = batches.copy();
            long start = System.nanoTime();
            LogAppendInfo info = log.appendAsLeader(records, 0);
            latencyNanos.recordValue(System.nanoTime() - start);
            producer.check(info.firstOffset(), info.lastOffset());
            return info.lastOffset();
        }
        long acked = -1;
        if (producer.inFlight.size() >= inFlight) {
            AppendInfo info = producer.inFlight.poll().join();
            producer.acknowledged(info);
            acked = info.lastOffset();
        }
        producer.inFlight.add(submit(strataLogs.get(producer.partition)));
        return acked;
    }

    /** Appends one batch; retries an append the store refused at once under backpressure (nothing was taken). */
    private CompletableFuture<AppendInfo> submit(KafkaPartitionLog log) {
        long start = System.nanoTime();
        CompletableFuture<AppendInfo> f = KafkaLogs.append(log, batches, backpressureRetries);
        return f.whenComplete((r, e) -> latencyNanos.recordValue(System.nanoTime() - start));
    }
}
