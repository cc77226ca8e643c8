package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.StreamStore;
import dev.strata.core.Strata;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletionException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.statistics.Statistics;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.FileRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.Records;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.common.requests.ProduceRequest;
import org.apache.kafka.common.requests.ProduceResponse.RecordError;
import org.apache.kafka.server.storage.log.FetchIsolation;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.log.FetchDataInfo;
import org.apache.kafka.storage.internals.log.LogAppendInfo;
import org.apache.kafka.storage.internals.log.LogConfig;
import org.apache.kafka.storage.internals.log.LogDirFailureChannel;
import org.apache.kafka.storage.internals.log.LogStartOffsetIncrementReason;
import org.apache.kafka.storage.internals.log.ProducerStateManagerConfig;
import org.apache.kafka.storage.internals.log.RecordValidationException;
import org.apache.kafka.storage.internals.log.UnifiedLog;
import org.apache.kafka.storage.log.metrics.BrokerTopicStats;

/**
 * Differential test: random sequences of plain-producer appends (batch sizes, record sizes,
 * compression, timestamps, corrupted bytes), reads, deleteRecords, earliest/latest lookups, clock
 * moves and restarts run on a {@link KafkaPartitionLog} over a durable Strata store and on Kafka
 * 4.3.1's own {@link UnifiedLog}; offsets, errors (as Kafka {@link Errors}), record errors, read
 * bytes, high watermark, log end and log start offsets must agree.
 *
 * <p>Normalisations (the module README lists the reasons):
 * <ul>
 *   <li>The reference is a broker's path: {@code ProduceRequest.validateRecords} (what the broker
 *       checks when it parses a Produce request: one batch, magic 2) runs before
 *       {@code UnifiedLog.appendAsLeader}, so a malformed request fails as a broker fails it.</li>
 *   <li>Kafka's read returns a byte range that may end in a partial batch; only its complete
 *       batches are compared.</li>
 *   <li>Kafka's high watermark only moves when replicas fetch; as the single replica the test sets
 *       it to the log end offset after every append and restart (this log's high watermark is its
 *       durable end).</li>
 *   <li>DeleteRecords' -1 (high watermark) and negative offsets are resolved as Kafka's
 *       {@code Partition.deleteRecordsOnLeader} does before it calls the log.</li>
 *   <li>Kafka keeps the log start offset across restarts in a checkpoint file the LogManager writes;
 *       the test passes it to {@code UnifiedLog.create}, as the LogManager does.</li>
 * </ul>
 * Both logs share one {@link ManualClock}, so LogAppendTime stamps are equal.
 */
class UnifiedLogDifferentialProperties {
    private static final long START_MS = 1_760_000_000_000L;
    private static final int STORE_MAX_BATCH_BYTES = 64 * 1024;
    private static final int MAX_MESSAGE_BYTES = 48 * 1024;
    private static final List<Compression> COMPRESSIONS = List.of(Compression.NONE, Compression.lz4().build(),
            Compression.zstd().build(), Compression.gzip().build(), Compression.snappy().build());

    sealed interface Op permits Append, Advance, Read, Delete, ListOffsets, Restart {
    }

    /**
     * A produced batch; timestamps relative to now; {@code corruptAt} >= 0 flips one byte past the
     * header; {@code shape} makes it malformed in one of the ways of {@link Shape}.
     */
    record Append(int count, int valueBytes, int compression, long tsDeltaMs, boolean noTimestamp,
                  int corruptAt, boolean bumpEpoch, long seed, Shape shape) implements Op {
    }

    /** What a (mis)behaving client sends. */
    enum Shape {
        /** One batch as the Java producer builds it. */
        PLAIN,
        /** Base offset other than 0. */
        NONZERO_BASE_OFFSET,
        /** Two batches in one partition's data. */
        TWO_BATCHES,
        /** A batch followed by a partial one (Kafka ignores the trailing bytes). */
        TRAILING_PARTIAL_BATCH,
        /** The producer set the LogAppendTime attribute itself. */
        PRODUCER_LOG_APPEND_TIME,
        /** A control batch (transaction marker) from a client. */
        CONTROL_BATCH
    }

    record Advance(long ms) implements Op {
    }

    record Read(double where, int maxBytes, boolean minOneMessage, boolean readCommitted) implements Op {
    }

    record Delete(double where, boolean highWatermark) implements Op {
    }

    record ListOffsets(boolean earliest) implements Op {
    }

    record Restart() implements Op {
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Append> append = Combinators.combine(
                Arbitraries.integers().between(1, 30),
                Arbitraries.integers().between(0, 3000),
                Arbitraries.integers().between(0, COMPRESSIONS.size() - 1),
                // mostly in the past; some beyond message.timestamp.after.max.ms (1 h), some right at it
                Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(8, Arbitraries.longs().between(-86_400_000L, 0)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(3_600_000L - 40, 3_600_000L + 5)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(0, 2 * 3_600_000L))),
                Arbitraries.integers().between(0, 19).map(i -> i == 0),
                Arbitraries.integers().between(-12, 400).map(i -> i < 0 ? i : (i < 12 ? i * 37 : -1)),
                Arbitraries.integers().between(0, 9).map(i -> i == 0),
                Arbitraries.longs())
                .as((c, v, z, ts, noTs, corrupt, bump, seed) -> new Append(c, v, z, ts, noTs,
                        corrupt < 0 ? -1 : corrupt, bump, seed, Shape.PLAIN));
        Arbitrary<Op> appendOfShape = Combinators.combine(append,
                        Arbitraries.frequency(net.jqwik.api.Tuple.of(20, Shape.PLAIN),
                                net.jqwik.api.Tuple.of(1, Shape.NONZERO_BASE_OFFSET), net.jqwik.api.Tuple.of(1, Shape.TWO_BATCHES),
                                net.jqwik.api.Tuple.of(1, Shape.TRAILING_PARTIAL_BATCH),
                                net.jqwik.api.Tuple.of(1, Shape.PRODUCER_LOG_APPEND_TIME), net.jqwik.api.Tuple.of(1, Shape.CONTROL_BATCH)))
                .as((a, shape) -> (Op) new Append(a.count(), a.valueBytes(), a.compression(), a.tsDeltaMs(), a.noTimestamp(),
                        a.corruptAt(), a.bumpEpoch(), a.seed(), shape));
        Arbitrary<Op> advance = Arbitraries.longs().between(0, 60_000).map(Advance::new);
        Arbitrary<Op> read = Combinators.combine(Arbitraries.doubles().between(0, 1),
                        Arbitraries.oneOf(Arbitraries.integers().between(0, 200), Arbitraries.integers().between(0, 60_000)),
                        Arbitraries.of(true, false), Arbitraries.of(true, false))
                .as(Read::new);
        Arbitrary<Op> delete = Combinators.combine(Arbitraries.doubles().between(0, 1),
                Arbitraries.integers().between(0, 9).map(i -> i == 0)).as(Delete::new);
        Arbitrary<Op> list = Arbitraries.of(true, false).map(ListOffsets::new);
        Arbitrary<Op> restart = Arbitraries.just(new Restart());
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(10, appendOfShape), net.jqwik.api.Tuple.of(2, advance),
                        net.jqwik.api.Tuple.of(8, read), net.jqwik.api.Tuple.of(2, delete),
                        net.jqwik.api.Tuple.of(2, list), net.jqwik.api.Tuple.of(1, restart))
                .list().ofMinSize(5).ofMaxSize(40);
    }

    @Property(tries = 40, shrinking = ShrinkingMode.BOUNDED)
    void partitionLogAgreesWithKafkasUnifiedLog(@ForAll boolean logAppendTime, @ForAll("ops") List<Op> ops) throws Exception {
        Path dir = Files.createTempDirectory("strata-kafka-diff");
        ManualClock clock = new ManualClock(START_MS);
        KafkaScheduler scheduler = new KafkaScheduler(1);
        scheduler.startup();
        Pair pair = null;
        try {
            pair = new Pair(dir, clock, scheduler, logAppendTime);
            int leaderEpoch = 0;
            for (Op op : ops) {
                if (op instanceof Append a) {
                    leaderEpoch += a.bumpEpoch() ? 1 : 0;
                    pair.append(a, leaderEpoch);
                } else if (op instanceof Advance adv) {
                    clock.advance(adv.ms());
                } else if (op instanceof Read r) {
                    pair.read(r);
                } else if (op instanceof Delete d) {
                    pair.delete(d);
                } else if (op instanceof ListOffsets l) {
                    pair.listOffsets(l.earliest());
                } else {
                    pair.restart();
                }
                pair.assertOffsetsAgree(op);
            }
        } finally {
            if (pair != null) {
                pair.close();
            }
            scheduler.shutdown();
            deleteRecursively(dir);
        }
    }

    /** Our log on a durable store, and Kafka's log, side by side. */
    private static final class Pair {
        final Path dir;
        final ManualClock clock;
        final KafkaScheduler scheduler;
        final PartitionLogConfig config;
        final LogConfig kafkaConfig;
        final BrokerTopicStats stats = new BrokerTopicStats();
        StreamStore store;
        KafkaPartitionLog ours;
        UnifiedLog ref;
        final long streamId;

        Pair(Path dir, ManualClock clock, KafkaScheduler scheduler, boolean logAppendTime) throws IOException {
            this.dir = dir;
            this.clock = clock;
            this.scheduler = scheduler;
            TimestampType type = logAppendTime ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
            this.config = PartitionLogConfig.builder().timestampType(type).maxMessageBytes(MAX_MESSAGE_BYTES).clock(clock).build();
            this.kafkaConfig = new LogConfig(Map.of(
                    TopicConfig.RETENTION_MS_CONFIG, "-1",
                    TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Long.MAX_VALUE),
                    TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(MAX_MESSAGE_BYTES),
                    TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, type.name));
            this.store = openStore();
            try {
                this.ours = KafkaPartitionLog.create(store, 0, config).join();
                this.streamId = ours.streamId();
                this.ref = openReference(0, 0);
            } catch (IOException | RuntimeException e) {
                store.close(); // the property closes only a Pair it got
                throw e;
            }
        }

        StreamStore openStore() {
            return Strata.builder()
                    .dataDir(dir.resolve("strata"))
                    .walCapacity(16L << 20)
                    .logCacheBytes(8L << 20)
                    .blockCacheBytes(4L << 20)
                    .maxInFlightReadBytes(2L << 20)
                    .uploadThresholdBytes(1L << 20)
                    .uploadInterval(Duration.ofMillis(200))
                    .maxBatchBytes(STORE_MAX_BATCH_BYTES)
                    .objectBlockBytes(16 * 1024)
                    .build();
        }

        UnifiedLog openReference(long logStartOffset, long recoveryPoint) throws IOException {
            UnifiedLog log = UnifiedLog.create(dir.resolve("kafka").resolve("topic-0").toFile(), kafkaConfig,
                    logStartOffset, recoveryPoint, scheduler, stats, clock, 900_000,
                    new ProducerStateManagerConfig(86_400_000, false), 600_000, new LogDirFailureChannel(10), true,
                    Optional.empty());
            log.updateHighWatermark(log.logEndOffset());
            return log;
        }

        void append(Append a, int leaderEpoch) throws IOException {
            MemoryRecords produced = batch(a);
            Object expected;
            List<RecordError> expectedRecordErrors = List.of();
            try {
                // the broker checks this when it parses the Produce request, before the log sees the data
                ProduceRequest.validateRecords(ApiKeys.PRODUCE.latestVersion(), produced);
                LogAppendInfo info = ref.appendAsLeader(Batches.copy(produced), leaderEpoch);
                ref.updateHighWatermark(ref.logEndOffset());
                expected = new AppendInfo(info.firstOffset(), info.lastOffset(), info.logAppendTime(), info.logStartOffset());
            } catch (RecordValidationException e) {
                expected = Errors.forException(e.invalidException());
                expectedRecordErrors = e.recordErrors();
            } catch (RuntimeException e) {
                expected = Errors.forException(e);
            }
            Object actual;
            List<RecordError> actualRecordErrors = List.of();
            try {
                actual = ours.appendAsLeader(Batches.copy(produced), leaderEpoch).join();
            } catch (CompletionException e) {
                KafkaLogException failure = (KafkaLogException) e.getCause();
                actual = failure.error();
                if (failure instanceof InvalidBatchTimestampException t) {
                    actualRecordErrors = t.recordErrors();
                } else if (failure instanceof InvalidBatchException i) {
                    actualRecordErrors = i.recordErrors();
                }
            }
            assertThat(actual).as("append %s", a).isEqualTo(expected);
            Statistics.label("append").collect(a.shape() + " " + (actual instanceof Errors e ? e.name() : "ok"));
            assertThat(actualRecordErrors).extracting(r -> r.batchIndex).as("record errors of %s", a)
                    .isEqualTo(expectedRecordErrors.stream().map(r -> r.batchIndex).toList());
        }

        MemoryRecords batch(Append a) {
            Random random = new Random(a.seed());
            SimpleRecord[] records = new SimpleRecord[a.count()];
            long now = clock.millis();
            for (int i = 0; i < a.count(); i++) {
                byte[] value = new byte[a.valueBytes()];
                // half random, half repeated: compressible, but not to nothing
                for (int j = 0; j < value.length; j++) {
                    value[j] = j < value.length / 2 ? (byte) random.nextInt() : (byte) j;
                }
                long ts = a.noTimestamp() ? RecordBatch.NO_TIMESTAMP : now + a.tsDeltaMs() + i;
                records[i] = new SimpleRecord(ts, random.nextBoolean() ? null : ("key-" + i).getBytes(), value);
            }
            Compression compression = COMPRESSIONS.get(a.compression());
            MemoryRecords built = switch (a.shape()) {
                case PLAIN -> MemoryRecords.withRecords(compression, records);
                case NONZERO_BASE_OFFSET -> MemoryRecords.withRecords(1L + random.nextInt(100), compression, records);
                case TWO_BATCHES -> concat(MemoryRecords.withRecords(compression, records),
                        MemoryRecords.withRecords(compression, records), Integer.MAX_VALUE);
                case TRAILING_PARTIAL_BATCH -> {
                    MemoryRecords second = MemoryRecords.withRecords(compression, records);
                    yield concat(MemoryRecords.withRecords(compression, records), second,
                            1 + random.nextInt(second.sizeInBytes() - 1));
                }
                case PRODUCER_LOG_APPEND_TIME -> MemoryRecords.withRecords(RecordBatch.CURRENT_MAGIC_VALUE, 0L, compression,
                        TimestampType.LOG_APPEND_TIME, records);
                case CONTROL_BATCH -> MemoryRecords.withEndTransactionMarker(now, 1L, (short) 0,
                        new EndTransactionMarker(ControlRecordType.COMMIT, 0));
            };
            if (a.corruptAt() >= 0) {
                ByteBuffer buf = built.buffer();
                int header = 61; // DefaultRecordBatch.RECORD_BATCH_OVERHEAD: the records start here
                int pos = header + a.corruptAt() % Math.max(1, buf.remaining() - header);
                if (pos < buf.limit()) {
                    buf.put(pos, (byte) (buf.get(pos) ^ 0x5a));
                }
                return MemoryRecords.readableRecords(buf);
            }
            return built;
        }

        /** {@code first} followed by the first {@code secondBytes} bytes of {@code second}. */
        static MemoryRecords concat(MemoryRecords first, MemoryRecords second, int secondBytes) {
            ByteBuffer tail = second.buffer();
            tail.limit(tail.position() + Math.min(secondBytes, tail.remaining()));
            ByteBuffer out = ByteBuffer.allocate(first.sizeInBytes() + tail.remaining());
            out.put(first.buffer()).put(tail).flip();
            return MemoryRecords.readableRecords(out);
        }

        void read(Read r) throws IOException {
            long start = ref.logStartOffset();
            long end = ref.logEndOffset();
            // from one below the start to one above the end
            long offset = start - 1 + Math.round(r.where() * (end - start + 2));
            Object expected;
            byte[] expectedBytes = null;
            try {
                FetchDataInfo info = ref.read(offset, r.maxBytes(),
                        r.readCommitted() ? FetchIsolation.TXN_COMMITTED : FetchIsolation.HIGH_WATERMARK, r.minOneMessage());
                expectedBytes = completeBatches(info.records);
                expected = List.of(describe(expectedBytes), ref.highWatermark(), ref.lastStableOffset(), ref.logStartOffset());
            } catch (RuntimeException e) {
                expected = Errors.forException(e);
            }
            Object actual;
            byte[] actualBytes = null;
            try {
                ReadResult result = ours.read(offset, r.maxBytes(),
                        r.readCommitted() ? Isolation.TXN_COMMITTED : Isolation.HIGH_WATERMARK, r.minOneMessage()).join();
                actualBytes = Batches.bytes(result.records());
                actual = List.of(describe(actualBytes), result.highWatermark(), result.lastStableOffset(), result.logStartOffset());
            } catch (CompletionException e) {
                actual = ((KafkaLogException) e.getCause()).error();
            }
            assertThat(actual).as("read %s at offset %d (log [%d, %d))", r, offset, start, end).isEqualTo(expected);
            assertThat(actualBytes).as("bytes read by %s at offset %d", r, offset).isEqualTo(expectedBytes);
            Statistics.label("read").collect(actual instanceof Errors e ? e.name()
                    : actualBytes.length == 0 ? "empty" : "records");
        }

        /** The bytes of the complete batches at the front of Kafka's read (a partial tail dropped). */
        static byte[] completeBatches(Records records) throws IOException {
            int size = 0;
            for (RecordBatch b : records.batches()) {
                size += b.sizeInBytes();
            }
            ByteBuffer out = ByteBuffer.allocate(size);
            if (records instanceof FileRecords file) {
                file.readInto(out, 0);
            } else {
                out.put(((MemoryRecords) records).buffer().limit(size));
            }
            return out.array();
        }

        /** One line per batch, so that a mismatch reads well; the bytes are compared separately. */
        static List<String> describe(byte[] bytes) {
            List<String> out = new ArrayList<>();
            for (RecordBatch b : MemoryRecords.readableRecords(ByteBuffer.wrap(bytes)).batches()) {
                out.add("[" + b.baseOffset() + ".." + b.lastOffset() + "] epoch=" + b.partitionLeaderEpoch()
                        + " " + b.timestampType() + "=" + b.maxTimestamp() + " " + b.compressionType()
                        + " size=" + b.sizeInBytes() + " crc=" + b.checksum());
            }
            return out;
        }

        void delete(Delete d) {
            long hw = ref.highWatermark();
            long requested = d.highWatermark() ? -1L : Math.round(d.where() * (hw + 3)) - 1;
            // Partition.deleteRecordsOnLeader: -1 means the high watermark; other negatives are out of range
            Object expected;
            try {
                long converted = requested == -1L ? hw : requested;
                if (converted < 0) {
                    throw new org.apache.kafka.common.errors.OffsetOutOfRangeException("negative offset " + converted);
                }
                ref.maybeIncrementLogStartOffset(converted, LogStartOffsetIncrementReason.ClientRecordDeletion);
                expected = ref.logStartOffset();
            } catch (RuntimeException e) {
                expected = Errors.forException(e);
            }
            Object actual;
            try {
                actual = ours.deleteRecords(requested).join();
            } catch (CompletionException e) {
                actual = ((KafkaLogException) e.getCause()).error();
            }
            assertThat(actual).as("deleteRecords(%d) with high watermark %d", requested, hw).isEqualTo(expected);
            Statistics.label("deleteRecords").collect(actual instanceof Errors e ? e.name() : "ok");
        }

        void listOffsets(boolean earliest) {
            long ts = earliest ? -2L : -1L;
            long expected = ref.fetchOffsetByTimestamp(ts, Optional.empty()).timestampAndOffsetOpt().orElseThrow().offset;
            assertThat(ours.offsetForTimestamp(ts)).as("offset for %d", ts).isEqualTo(expected);
        }

        void restart() throws IOException {
            ours.close();
            store.close();
            store = openStore();
            ours = KafkaPartitionLog.open(store, streamId, 0, config).join();

            long logStartOffset = ref.logStartOffset(); // what LogManager's checkpoint would hold
            long recoveryPoint = ref.logEndOffset();
            ref.close();
            ref = openReference(logStartOffset, recoveryPoint);
        }

        void assertOffsetsAgree(Op after) {
            assertThat(List.of(ours.logStartOffset(), ours.logEndOffset(), ours.highWatermark()))
                    .as("log start, log end, high watermark after %s", after)
                    .isEqualTo(List.of(ref.logStartOffset(), ref.logEndOffset(), ref.highWatermark()));
        }

        void close() {
            try {
                if (ours != null) {
                    ours.close();
                }
            } finally {
                store.close();
                try {
                    ref.close();
                } catch (RuntimeException e) {
                    // the property's own failure matters more
                }
            }
        }
    }

    private static void deleteRecursively(Path dir) {
        try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
