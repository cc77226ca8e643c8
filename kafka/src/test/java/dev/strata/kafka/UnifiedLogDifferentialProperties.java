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
import org.apache.kafka.common.requests.ListOffsetsRequest;
import org.apache.kafka.common.requests.ProduceRequest;
import org.apache.kafka.common.requests.ProduceResponse.RecordError;
import org.apache.kafka.server.storage.log.FetchIsolation;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.log.FetchDataInfo;
import org.apache.kafka.storage.internals.log.LogAppendInfo;
import org.apache.kafka.storage.internals.log.LogConfig;
import org.apache.kafka.storage.internals.log.LogDirFailureChannel;
import org.apache.kafka.storage.internals.log.LogStartOffsetIncrementReason;
import org.apache.kafka.storage.internals.log.ProducerStateEntry;
import org.apache.kafka.storage.internals.log.ProducerStateManagerConfig;
import org.apache.kafka.storage.internals.log.RecordValidationException;
import org.apache.kafka.storage.internals.log.UnifiedLog;
import org.apache.kafka.storage.log.metrics.BrokerTopicStats;

/**
 * Differential test: random sequences of plain- and idempotent-producer appends (batch sizes,
 * record sizes, compression, timestamps, corrupted bytes; retries, sequence gaps, producer-epoch
 * bumps and fenced epochs), leader-epoch bumps, reads, deleteRecords, retention, ListOffsets
 * (earliest, latest, max timestamp, real timestamps),
 * OffsetForLeaderEpoch, clock moves and clean and unclean restarts run on a
 * {@link KafkaPartitionLog} over a durable Strata store and on Kafka 4.3.1's own
 * {@link UnifiedLog}; offsets, errors (as Kafka {@link Errors}), record errors, read bytes, high
 * watermark, log end and log start offsets, the leader-epoch cache and each producer's epoch and
 * batches must agree.
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
 *   <li>Kafka's producer snapshot keeps only each producer's last batch, this log all five: a retry
 *       that Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER after a restart forgot the batch must here
 *       answer exactly the original offsets; producer states are compared on Kafka's batches (the
 *       newest of ours).</li>
 *   <li>Kafka drops every producer at a restart when its snapshot is at the log start offset, this
 *       log keeps them (and an expired producer that this log replays from the data tail after an
 *       unclean restart): such a producer only sends continuing batches afterwards.</li>
 *   <li>-3 and retention are compared with a second Kafka log, the <i>mirror</i>, which gets each
 *       batch Kafka stored as a follower append and rolls a segment after each, so that Kafka's
 *       segment-granular {@code deleteOldSegments} and -3 work on this log's batches; its log start
 *       offset after retention is passed to the main Kafka log. A mirror segment whose batch has no
 *       timestamps gets modification time 0 (Kafka's retention then uses the file time; this log
 *       counts such a batch as old). The main log's -3 is compared too when its answer is at or
 *       above the log start offset (it also looks at data below it, still in its one segment).</li>
 * </ul>
 * Both logs share one {@link ManualClock}, so LogAppendTime stamps are equal.
 */
class UnifiedLogDifferentialProperties {
    private static final long START_MS = 1_760_000_000_000L;
    private static final int STORE_MAX_BATCH_BYTES = 64 * 1024;
    private static final int MAX_MESSAGE_BYTES = 48 * 1024;
    private static final int PRODUCERS = 3;
    private static final long FIRST_PRODUCER_ID = 1000;
    private static final List<Compression> COMPRESSIONS = List.of(Compression.NONE, Compression.lz4().build(),
            Compression.zstd().build(), Compression.gzip().build(), Compression.snappy().build());

    sealed interface Op permits Append, Advance, Read, Delete, ListOffsets, EpochQuery, ExpireProducers, Restart, Retain {
    }

    /**
     * A produced batch; timestamps relative to now; {@code corruptAt} >= 0 flips one byte past the
     * header; {@code shape} makes it malformed in one of the ways of {@link Shape}.
     */
    record Append(int count, int valueBytes, int compression, long tsDeltaMs, boolean noTimestamp,
                  int corruptAt, boolean bumpEpoch, long seed, Shape shape, Idempotence idempotence) implements Op {
    }

    /**
     * A batch from idempotent producer {@code producer} (one of {@value #PRODUCERS}), with its
     * sequence or epoch chosen by {@code mode}; {@code amount} is how far back a retry goes, or the
     * size of a gap.
     */
    record Idempotence(int producer, SeqMode mode, int amount) {
    }

    enum SeqMode {
        /** The next sequence at the producer's epoch. */
        NEXT,
        /** The same bytes as one of the producer's last accepted batches ({@code amount} back, 1 = the last). */
        RETRY,
        /** A sequence {@code amount} beyond the next. */
        GAP,
        /** A bumped producer epoch starting at sequence 0. */
        NEW_EPOCH,
        /** A bumped producer epoch starting at sequence {@code amount}. */
        NEW_EPOCH_NOT_AT_ZERO,
        /** The epoch before the producer's (a fenced instance). */
        OLD_EPOCH
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

    /** ListOffsets: {@code kind} -2 earliest, -1 latest, -3 max timestamp, 0 a real timestamp at {@code where} of the recent past. */
    record ListOffsets(int kind, double where) implements Op {
    }

    /** The broker's periodic retention: {@code applyRetention} here, {@code deleteOldSegments} on Kafka's mirror log. */
    record Retain() implements Op {
    }

    /** The broker's periodic removeExpiredProducers. */
    record ExpireProducers() implements Op {
    }

    /** OffsetForLeaderEpoch for the current leader epoch minus {@code back}. */
    record EpochQuery(int back) implements Op {
    }

    /** Restarts both logs; {@code clean = false} closes our store without closing the log (no close snapshot). */
    record Restart(boolean clean) implements Op {
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Append> append = Combinators.combine(
                Arbitraries.integers().between(1, 30),
                Arbitraries.integers().between(0, 3000),
                Arbitraries.integers().between(0, COMPRESSIONS.size() - 1),
                // mostly in the past; some beyond message.timestamp.after.max.ms (1 h), some right at it
                Arbitraries.frequencyOf(
                        // uniform over the last day (jqwik's longs() favour values near 0), so that
                        // retention.ms and timestamp lookups meet both older and newer batches
                        net.jqwik.api.Tuple.of(8, Arbitraries.randomValue(r -> -(long) r.nextInt(86_400_001))),
                        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(3_600_000L - 40, 3_600_000L + 5)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(0, 2 * 3_600_000L))),
                Arbitraries.integers().between(0, 19).map(i -> i == 0),
                Arbitraries.integers().between(-12, 400).map(i -> i < 0 ? i : (i < 12 ? i * 37 : -1)),
                Arbitraries.integers().between(0, 9).map(i -> i == 0),
                Arbitraries.longs())
                .as((c, v, z, ts, noTs, corrupt, bump, seed) -> new Append(c, v, z, ts, noTs,
                        corrupt < 0 ? -1 : corrupt, bump, seed, Shape.PLAIN, null));
        Arbitrary<Idempotence> idempotence = Combinators.combine(
                Arbitraries.integers().between(0, PRODUCERS - 1),
                // jqwik's frequency() and integers() favour their first / smallest values strongly
                uniform(List.of(SeqMode.NEXT, SeqMode.NEXT, SeqMode.NEXT, SeqMode.RETRY, SeqMode.RETRY, SeqMode.RETRY,
                        SeqMode.GAP, SeqMode.NEW_EPOCH, SeqMode.NEW_EPOCH_NOT_AT_ZERO, SeqMode.OLD_EPOCH)),
                Arbitraries.integers().between(1, 7)).as(Idempotence::new);
        Arbitrary<Op> appendOfShape = Combinators.combine(append,
                        Arbitraries.frequency(net.jqwik.api.Tuple.of(20, Shape.PLAIN),
                                net.jqwik.api.Tuple.of(1, Shape.NONZERO_BASE_OFFSET), net.jqwik.api.Tuple.of(1, Shape.TWO_BATCHES),
                                net.jqwik.api.Tuple.of(1, Shape.TRAILING_PARTIAL_BATCH),
                                net.jqwik.api.Tuple.of(1, Shape.PRODUCER_LOG_APPEND_TIME), net.jqwik.api.Tuple.of(1, Shape.CONTROL_BATCH)),
                        uniform(List.of(true, true, true, false)), idempotence)
                // three in four plain-shaped batches come from idempotent producers
                .as((a, shape, idempotent, idem) -> (Op) new Append(a.count(), a.valueBytes(), a.compression(), a.tsDeltaMs(),
                        a.noTimestamp(), a.corruptAt(), a.bumpEpoch(), a.seed(), shape,
                        shape == Shape.PLAIN && idempotent ? idem : null));
        // mostly seconds; one in eight about a day, around producer.id.expiration.ms
        Arbitrary<Op> advance = Combinators.combine(uniform(List.of(true, true, true, true, true, true, true, false)),
                Arbitraries.longs().between(0, 60_000)).as((small, ms) -> new Advance(small ? ms : 86_340_000 + ms));
        // uniform: jqwik's doubles() favour the edges 0 and 1, i.e. one below the start and one above the end
        Arbitrary<Op> read = Combinators.combine(Arbitraries.randomValue(java.util.Random::nextDouble),
                        Arbitraries.oneOf(Arbitraries.integers().between(0, 200), Arbitraries.integers().between(0, 60_000)),
                        Arbitraries.of(true, false), Arbitraries.of(true, false))
                .as(Read::new);
        Arbitrary<Op> delete = Combinators.combine(Arbitraries.doubles().between(0, 1),
                Arbitraries.integers().between(0, 9).map(i -> i == 0)).as(Delete::new);
        Arbitrary<Op> list = Combinators.combine(uniform(List.of(-2, -1, -3, -3, 0, 0, 0, 0)), Arbitraries.doubles().between(0, 1))
                .as(ListOffsets::new);
        Arbitrary<Op> retain = Arbitraries.just(new Retain());
        Arbitrary<Op> epochQuery = Arbitraries.integers().between(-1, 3).map(EpochQuery::new);
        Arbitrary<Op> restart = Arbitraries.of(true, false).map(Restart::new);
        Arbitrary<Op> expire = Arbitraries.just(new ExpireProducers());
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(14, appendOfShape), net.jqwik.api.Tuple.of(2, advance),
                        net.jqwik.api.Tuple.of(6, read), net.jqwik.api.Tuple.of(2, delete),
                        net.jqwik.api.Tuple.of(4, list), net.jqwik.api.Tuple.of(2, retain), net.jqwik.api.Tuple.of(2, epochQuery), net.jqwik.api.Tuple.of(2, restart),
                        net.jqwik.api.Tuple.of(1, expire))
                .list().ofMinSize(5).ofMaxSize(50);
    }

    /** retention.ms, retention.bytes and index.interval.bytes of one try. */
    record Retained(long ms, long bytes, int indexIntervalBytes) {
    }

    @Provide
    Arbitrary<Retained> retention() {
        // limits that keep some data more often than none (0 bytes and 1 h remove most of it)
        return Combinators.combine(uniform(List.of(-1L, 3_600_000L, 3 * 3_600_000L, 6 * 3_600_000L, 12 * 3_600_000L)),
                uniform(List.of(-1L, -1L, 0L, 2_000L, 8_000L, 30_000L)), uniform(List.of(0, 3000, 16_384)))
                .as(Retained::new);
    }

    /** One of {@code values}, each equally likely (repeat a value to weigh it). */
    private static <T> Arbitrary<T> uniform(List<T> values) {
        return Arbitraries.randomValue(random -> values.get(random.nextInt(values.size())));
    }

    @Property(tries = 40, shrinking = ShrinkingMode.BOUNDED)
    void partitionLogAgreesWithKafkasUnifiedLog(@ForAll boolean logAppendTime, @ForAll("retention") Retained retention,
                                                @ForAll("ops") List<Op> ops) throws Exception {
        Path dir = Files.createTempDirectory("strata-kafka-diff");
        ManualClock clock = new ManualClock(START_MS);
        KafkaScheduler scheduler = new KafkaScheduler(1);
        scheduler.startup();
        Pair pair = null;
        try {
            pair = new Pair(dir, clock, scheduler, logAppendTime, retention);
            Statistics.label("retention config").collect(retention.ms() < 0 ? "no retention.ms" : "retention.ms",
                    retention.bytes() < 0 ? "no retention.bytes" : "retention.bytes");
            int leaderEpoch = 0;
            for (Op op : ops) {
                if (op instanceof Append a) {
                    Statistics.label("generated").collect(a.shape() + (a.idempotence() == null ? "" : " idempotent"));
                    leaderEpoch += a.bumpEpoch() ? 1 : 0;
                    pair.append(a, leaderEpoch);
                } else if (op instanceof Advance adv) {
                    clock.advance(adv.ms());
                } else if (op instanceof Read r) {
                    pair.read(r);
                } else if (op instanceof Delete d) {
                    pair.delete(d);
                } else if (op instanceof ListOffsets l) {
                    pair.listOffsets(l);
                } else if (op instanceof Retain) {
                    pair.retain();
                } else if (op instanceof ExpireProducers) {
                    pair.ref.removeExpiredProducers(clock.millis());
                    pair.ours.removeExpiredProducers();
                } else if (op instanceof EpochQuery q) {
                    pair.epochQuery(leaderEpoch - q.back());
                } else {
                    pair.restart(((Restart) op).clean());
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
        /**
         * Kafka's log again, fed the batches {@code ref} stored (as a follower) with one segment per
         * batch, so that Kafka's segment-granular retention and -3 lookup run at this log's batch
         * granularity; it follows {@code ref}'s log start offset and is never restarted.
         */
        UnifiedLog mirror;
        LogConfig mirrorConfig;
        final long streamId;
        final long metaStreamId;
        final Map<Long, ProducerModel> producers = new java.util.HashMap<>();
        int restarts;
        /** Producers Kafka dropped at a restart where this log kept them (see restart()). */
        final java.util.Set<Long> droppedByKafka = new java.util.HashSet<>();

        Pair(Path dir, ManualClock clock, KafkaScheduler scheduler, boolean logAppendTime, Retained retention) throws IOException {
            this.dir = dir;
            this.clock = clock;
            this.scheduler = scheduler;
            TimestampType type = logAppendTime ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
            // small snapshots, often: periodic snapshots, tail replays and multi-chunk snapshots all happen
            this.config = PartitionLogConfig.builder().timestampType(type).maxMessageBytes(MAX_MESSAGE_BYTES).clock(clock)
                    .snapshotIntervalBytes(24 * 1024).metaChunkBytes(PartitionLogConfig.MIN_META_CHUNK_BYTES + 100)
                    .producerIdExpirationMs(86_400_000).retentionMs(retention.ms()).retentionBytes(retention.bytes())
                    .indexIntervalBytes(retention.indexIntervalBytes()).build();
            this.kafkaConfig = new LogConfig(Map.of(
                    TopicConfig.RETENTION_MS_CONFIG, "-1",
                    TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Long.MAX_VALUE),
                    TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(MAX_MESSAGE_BYTES),
                    TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, type.name));
            this.mirrorConfig = new LogConfig(Map.of(
                    TopicConfig.RETENTION_MS_CONFIG, Long.toString(retention.ms()),
                    TopicConfig.RETENTION_BYTES_CONFIG, Long.toString(retention.bytes()),
                    TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Long.MAX_VALUE),
                    TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(MAX_MESSAGE_BYTES),
                    TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, type.name));
            this.store = openStore();
            try {
                this.ours = KafkaPartitionLog.create(store, 0, config).join();
                this.streamId = ours.streamId();
                this.metaStreamId = ours.metaStreamId();
                this.ref = openReference(0, 0);
                this.mirror = UnifiedLog.create(dir.resolve("mirror").resolve("topic-0").toFile(), mirrorConfig, 0, 0,
                        scheduler, stats, clock, 900_000, new ProducerStateManagerConfig(86_400_000, false), 600_000,
                        new LogDirFailureChannel(10), true, Optional.empty());
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
            Sent retried = null;
            MemoryRecords produced;
            long producerId = -1;
            short producerEpoch = -1;
            int firstSeq = -1;
            ProducerStateEntry kafkaEntry = null;
            if (a.idempotence() == null) {
                produced = batch(a, -1, (short) -1, -1);
            } else {
                producerId = FIRST_PRODUCER_ID + a.idempotence().producer();
                ProducerModel model = producers.computeIfAbsent(producerId, id -> new ProducerModel());
                kafkaEntry = ref.producerStateManager().activeProducers().get(producerId);
                SeqMode mode = a.idempotence().mode();
                if (droppedByKafka.contains(producerId)) {
                    // Kafka dropped the producer at a restart (its snapshot was at the log start
                    // offset, or it expired but this log replayed it from the tail after an unclean
                    // restart), this log kept it: only a continuing batch means the same to both
                    mode = SeqMode.NEXT;
                }
                if ((mode == SeqMode.RETRY && model.sent.isEmpty()) || (mode == SeqMode.OLD_EPOCH && model.epoch == 0)) {
                    mode = SeqMode.NEXT;
                }
                int amount = a.idempotence().amount();
                producerEpoch = switch (mode) {
                    case NEW_EPOCH, NEW_EPOCH_NOT_AT_ZERO -> (short) (model.epoch + 1);
                    case OLD_EPOCH -> (short) (model.epoch - 1);
                    default -> model.epoch;
                };
                firstSeq = switch (mode) {
                    case NEW_EPOCH -> 0;
                    case NEW_EPOCH_NOT_AT_ZERO -> amount;
                    case GAP -> model.nextSeq + amount;
                    default -> model.nextSeq;
                };
                if (mode == SeqMode.RETRY) {
                    retried = model.sent.get(Math.max(0, model.sent.size() - amount));
                    produced = MemoryRecords.readableRecords(ByteBuffer.wrap(retried.bytes()));
                } else {
                    produced = batch(a, producerId, producerEpoch, firstSeq);
                }
                Statistics.label("idempotent").collect(mode.name());
            }
            byte[] sentBytes = Batches.bytes(Batches.copy(produced));
            long endBefore = ref.logEndOffset();
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
            if (retried != null && expected == Errors.OUT_OF_ORDER_SEQUENCE_NUMBER && actual instanceof AppendInfo info
                    && forgotByKafka(retried, kafkaEntry)) {
                // Kafka's producer snapshot keeps only each producer's last batch; this log keeps five
                // across restarts (module README, deliberate differences): still a duplicate here
                assertThat(List.of(info.baseOffset(), info.lastOffset(), info.logStartOffset()))
                        .isEqualTo(List.of(retried.original().baseOffset(), retried.original().lastOffset(), ref.logStartOffset()));
                Statistics.label("append").collect("RETRY of a batch Kafka forgot: duplicate here");
                return;
            }
            assertThat(actual).as("append %s", a).isEqualTo(expected);
            Statistics.label("append").collect(a.shape() + (a.idempotence() == null ? "" : " idempotent") + " "
                    + (actual instanceof Errors e ? e.name() : ref.logEndOffset() == endBefore ? "duplicate" : "ok"));
            assertThat(actualRecordErrors).extracting(r -> r.batchIndex).as("record errors of %s", a)
                    .isEqualTo(expectedRecordErrors.stream().map(r -> r.batchIndex).toList());
            if (ref.logEndOffset() > endBefore) {
                mirrorStored(endBefore, leaderEpoch);
            }
            if (producerId >= 0 && actual instanceof AppendInfo info && ref.logEndOffset() > endBefore) {
                droppedByKafka.remove(producerId); // Kafka has it again
                ProducerModel model = producers.get(producerId);
                model.epoch = producerEpoch;
                model.nextSeq = firstSeq + (int) (info.lastOffset() - info.baseOffset()) + 1;
                model.sent.add(new Sent(producerEpoch, firstSeq, model.nextSeq - 1, sentBytes, info, restarts));
            }
        }

        /**
         * Appends the batch {@code ref} stored at {@code offset} to the mirror and gives it its own
         * segment. A segment without timestamps gets modification time 0: Kafka's retention then
         * uses the file's time, this log counts such a batch as old (module README).
         */
        void mirrorStored(long offset, int leaderEpoch) throws IOException {
            MemoryRecords stored = MemoryRecords.readableRecords(ByteBuffer.wrap(completeBatches(
                    ref.read(offset, Integer.MAX_VALUE, FetchIsolation.HIGH_WATERMARK, true).records)));
            RecordBatch batch = stored.batches().iterator().next();
            mirror.appendAsFollower(stored, leaderEpoch);
            mirror.roll();
            mirror.updateHighWatermark(mirror.logEndOffset());
            if (batch.maxTimestamp() < 0) {
                mirror.logSegments().stream().filter(seg -> seg.baseOffset() == batch.baseOffset()).findFirst()
                        .orElseThrow().setLastModified(0);
            }
        }

        /** Kafka's retention (on the mirror, then its new log start offset on {@code ref}) and this log's. */
        void retain() throws IOException {
            long before = ref.logStartOffset();
            mirror.deleteOldSegments();
            long expected = mirror.logStartOffset();
            ref.maybeIncrementLogStartOffset(expected, LogStartOffsetIncrementReason.SegmentDeletion);
            long actual = ours.applyRetention().join();
            assertThat(actual).as("log start offset after retention (Kafka: %s of [%d, %d))", mirror.logSegments().stream()
                    .map(seg -> seg.baseOffset()).toList(), before, ref.logEndOffset()).isEqualTo(expected);
            Statistics.label("retention").collect(before == ref.logEndOffset() ? "empty log"
                    : expected == before ? "nothing" : expected == ref.logEndOffset() ? "all" : "some");
        }

        /** The mirror follows a deleteRecords: its log start offset, and its segments below it deleted (retention off). */
        void mirrorDeleteRecords(long offset) throws IOException {
            mirror.maybeIncrementLogStartOffset(offset, LogStartOffsetIncrementReason.ClientRecordDeletion);
            Map<String, String> off = new java.util.HashMap<>();
            mirrorConfig.originals().forEach((k, v) -> off.put(k, String.valueOf(v)));
            off.put(TopicConfig.RETENTION_MS_CONFIG, "-1");
            off.put(TopicConfig.RETENTION_BYTES_CONFIG, "-1");
            mirror.updateConfig(new LogConfig(off));
            mirror.deleteOldSegments();
            mirror.updateConfig(mirrorConfig);
        }

        /** Whether Kafka's state for the producer lacks {@code sent} because a restart dropped it. */
        boolean forgotByKafka(Sent sent, ProducerStateEntry kafkaEntry) {
            return sent.restartsBefore() < restarts && kafkaEntry != null && kafkaEntry.producerEpoch() == sent.epoch()
                    && kafkaEntry.batchMetadata().stream().noneMatch(b -> b.firstSeq() == sent.firstSeq() && b.lastSeq() == sent.lastSeq());
        }

        MemoryRecords batch(Append a, long producerId, short producerEpoch, int baseSequence) {
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
                case PLAIN -> producerId < 0 ? MemoryRecords.withRecords(compression, records)
                        : MemoryRecords.withIdempotentRecords(compression, producerId, producerEpoch, baseSequence, records);
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

        void delete(Delete d) throws IOException {
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
                mirrorDeleteRecords(converted);
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

        void listOffsets(ListOffsets l) {
            // real timestamps from 25 h before now (records are stamped up to a day back) to 2 h ahead
            long ts = l.kind() != 0 ? l.kind() : clock.millis() - 90_000_000L + Math.round(l.where() * 97_200_000L);
            Optional<FileRecords.TimestampAndOffset> main = ref.fetchOffsetByTimestamp(ts, Optional.empty()).timestampAndOffsetOpt();
            Optional<FileRecords.TimestampAndOffset> expected = main;
            if (ts == ListOffsetsRequest.MAX_TIMESTAMP) {
                // Kafka looks through whole segment files, also below the log start offset until
                // retention deletes the segment; the mirror has one segment per batch, with those
                // below the log start offset deleted (module README, deliberate differences)
                expected = mirror.fetchOffsetByTimestamp(ts, Optional.empty()).timestampAndOffsetOpt();
                boolean mainRetained = main.isPresent() && main.get().offset >= ref.logStartOffset();
                if (mainRetained) {
                    assertThat(describe(expected)).as("-3 on Kafka's log and its mirror").isEqualTo(describe(main));
                }
                Statistics.label("max timestamp").collect(main.isEmpty() ? "none" : mainRetained ? "retained" : "trimmed in Kafka");
            } else if (ts >= 0) {
                Statistics.label("timestamp lookup").collect(main.isEmpty() ? "none" : "found");
            }
            assertThat(ours.offsetForTimestamp(ts).join()).as("offset for %d", ts)
                    .isEqualTo(expected.map(e -> e.offset).orElse(-1L));
            assertThat(describe(ours.fetchOffsetByTimestamp(ts).join().map(a -> new FileRecords.TimestampAndOffset(
                    a.timestamp(), a.offset(), a.leaderEpoch().isPresent() ? Optional.of(a.leaderEpoch().getAsInt()) : Optional.empty()))))
                    .as("ListOffsets for %d (log [%d, %d))", ts, ref.logStartOffset(), ref.logEndOffset())
                    .isEqualTo(describe(expected));
        }

        static String describe(Optional<FileRecords.TimestampAndOffset> answer) {
            return answer.map(a -> "timestamp=" + a.timestamp + " offset=" + a.offset + " epoch=" + a.leaderEpoch).orElse("none");
        }

        void epochQuery(int epoch) {
            EpochEndOffset expected = ref.endOffsetForEpoch(epoch)
                    .map(oe -> new EpochEndOffset(oe.epoch(), oe.offset())).orElse(new EpochEndOffset(-1, -1));
            assertThat(ours.endOffsetForEpoch(epoch)).as("endOffsetForEpoch(%d)", epoch).isEqualTo(expected);
        }

        void restart(boolean clean) throws IOException {
            if (clean) {
                ours.close();
            } // else: no close snapshot; the store still keeps every acknowledged batch
            store.close();
            store = openStore();
            ours = KafkaPartitionLog.open(store, streamId, metaStreamId, 0, config).join();
            restarts++;

            long logStartOffset = ref.logStartOffset(); // what LogManager's checkpoint would hold
            long recoveryPoint = ref.logEndOffset();
            ref.close();
            ref = openReference(logStartOffset, recoveryPoint);
            for (long producerId : producers.keySet()) {
                boolean kafkaHas = ref.producerStateManager().activeProducers().containsKey(producerId);
                if (!kafkaHas && ours.producerState(producerId) != null) {
                    // only where the module README says Kafka drops producers and this log does not
                    // (or Kafka dropped it at an earlier restart and has not seen it since)
                    assertThat(!clean || logStartOffset == recoveryPoint || droppedByKafka.contains(producerId))
                            .as("producer %d dropped by Kafka but kept here after a clean restart of a non-empty log", producerId)
                            .isTrue();
                    droppedByKafka.add(producerId);
                } else if (kafkaHas) {
                    droppedByKafka.remove(producerId);
                }
            }
        }

        void assertOffsetsAgree(Op after) {
            assertThat(List.of(ours.logStartOffset(), ours.logEndOffset(), ours.highWatermark()))
                    .as("log start, log end, high watermark after %s", after)
                    .isEqualTo(List.of(ref.logStartOffset(), ref.logEndOffset(), ref.highWatermark()));
            assertThat(ours.leaderEpochEntries()).as("leader-epoch cache after %s", after)
                    .isEqualTo(ref.leaderEpochCache().epochEntries().stream()
                            .map(e -> new LeaderEpochEntry(e.epoch(), e.startOffset())).toList());
            for (long producerId : producers.keySet()) {
                ProducerStateEntry kafka = ref.producerStateManager().activeProducers().get(producerId);
                ProducerStateTable.Entry mine = ours.producerState(producerId);
                if (kafka == null) {
                    assertThat(mine == null || droppedByKafka.contains(producerId))
                            .as("producer %d known here only, after %s", producerId, after).isTrue();
                    continue;
                }
                assertThat(mine).as("state of producer %d after %s", producerId, after).isNotNull();
                List<List<Long>> kafkaBatches = kafka.batchMetadata().stream()
                        .map(b -> List.of((long) b.firstSeq(), (long) b.lastSeq(), b.firstOffset(), b.lastOffset(), b.timestamp()))
                        .toList();
                List<List<Long>> myBatches = mine.batches().stream()
                        .map(b -> List.of((long) b.firstSeq(), (long) b.lastSeq(), b.firstOffset(), b.lastOffset(), b.timestamp()))
                        .toList();
                assertThat(mine.epoch()).as("epoch of producer %d after %s", producerId, after).isEqualTo(kafka.producerEpoch());
                // Kafka's are the newest of ours (after a restart Kafka keeps only the last batch)
                assertThat(myBatches.subList(Math.max(0, myBatches.size() - kafkaBatches.size()), myBatches.size()))
                        .as("batches of producer %d after %s", producerId, after).isEqualTo(kafkaBatches);
            }
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
                    mirror.close();
                } catch (RuntimeException e) {
                    // the property's own failure matters more
                }
            }
        }
    }

    /** What the test knows of one idempotent producer: its epoch, next sequence and accepted batches. */
    static final class ProducerModel {
        short epoch;
        int nextSeq;
        final List<Sent> sent = new ArrayList<>();
    }

    /** An accepted idempotent batch: its bytes as sent (for retries) and Kafka's answer. */
    record Sent(short epoch, int firstSeq, int lastSeq, byte[] bytes, AppendInfo original, int restartsBefore) {
    }

    private static void deleteRecursively(Path dir) {
        try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
