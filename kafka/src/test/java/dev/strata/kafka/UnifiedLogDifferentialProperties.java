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
import net.jqwik.api.Example;
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
import org.apache.kafka.server.common.RequestLocal;
import org.apache.kafka.storage.internals.log.AppendOrigin;
import org.apache.kafka.storage.internals.log.FetchDataInfo;
import org.apache.kafka.storage.internals.log.VerificationGuard;
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
 * Differential test: random sequences of plain-, idempotent- and transactional-producer appends
 * (batch sizes, record sizes, compression, timestamps, corrupted bytes; retries, sequence gaps,
 * producer-epoch bumps and fenced epochs; non-transactional batches during a transaction),
 * coordinator transaction markers (COMMIT/ABORT, transaction versions 0 and 2, stale producer and
 * coordinator epochs), appends of batches with their offsets already assigned (Kafka's
 * {@code appendAsFollower}, this log's {@code appendWithOffsets}: contiguous, with forward gaps,
 * overlapping, several batches, corrupt), leader-epoch bumps, reads, deleteRecords, earliest/latest lookups, retention, ListOffsets
 * (earliest, latest, max timestamp, real timestamps),
 * OffsetForLeaderEpoch, clock moves and clean and unclean restarts run on a
 * {@link KafkaPartitionLog} over a durable Strata store and on Kafka 4.3.1's own
 * {@link UnifiedLog}; offsets, errors (as Kafka {@link Errors}), record errors, read bytes, high
 * watermark, last stable offset, log end and log start offsets, the leader-epoch cache, each
 * producer's epoch, batches, coordinator epoch and ongoing transaction, and the aborted
 * transactions of read_committed reads must agree.
 *
 * <p>Normalisations (the module README lists the reasons):
 * <ul>
 *   <li>The reference is a broker's path: {@code ProduceRequest.validateRecords} (what the broker
 *       checks when it parses a Produce request: one batch, magic 2) runs before
 *       {@code UnifiedLog.appendAsLeader}, so a malformed request fails as a broker fails it.</li>
 *   <li>{@code appendAsFollower} gets {@link Integer#MAX_VALUE} as the replica's leader epoch, so
 *       that Kafka skips no batch for a higher partition leader epoch (KAFKA-18723; a mirror has no
 *       such race).</li>
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
 *       unclean restart): such a producer only sends continuing batches afterwards; a
 *       transactional one that had a transaction or coordinator epoch here gets a COMMIT marker
 *       with a bumped epoch on both logs right after the restart, as its coordinator would send.</li>
 *   <li>Kafka's last stable offset is raised to its log start offset (Kafka reports the base offset
 *       of the batch containing the start when a transaction began below it).</li>
 *   <li>Kafka's aborted transactions of a read are compared on those that begin below the end of
 *       the complete batches compared (Kafka's bound is a sparse offset-index entry at or after its
 *       byte range).</li>
 *   <li>A batch Kafka restored at a restart with a later marker's timestamp (its snapshot keeps the
 *       producer's last timestamp) is compared on Kafka's timestamp; a duplicate of it is
 *       answered here with the batch's own.</li>
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
    private static final int TXN_PRODUCERS = 2;
    private static final long FIRST_TXN_PRODUCER_ID = 2000;
    /** {@link MirrorBatch#producer()} values from here on: the transactional producers' batches. */
    private static final int MIRROR_TXN = 10;
    /** {@link MirrorBatch#producer()} values from here on: the transactional producers' markers. */
    private static final int MIRROR_MARKER = 20;
    /** {@link MirrorBatch#producer()} values from here on: a transactional producer's non-transactional batch. */
    private static final int MIRROR_NOT_TXN = 30;
    private static final List<Compression> COMPRESSIONS = List.of(Compression.NONE, Compression.lz4().build(),
            Compression.zstd().build(), Compression.gzip().build(), Compression.snappy().build());

    sealed interface Op permits Append, Mirror, Advance, Read, Delete, ListOffsets, EpochQuery, ExpireProducers, Restart,
            Marker, Retain {
    }

    /**
     * A produced batch; timestamps relative to now; {@code corruptAt} >= 0 flips one byte past the
     * header; {@code shape} makes it malformed in one of the ways of {@link Shape}.
     */
    record Append(int count, int valueBytes, int compression, long tsDeltaMs, boolean noTimestamp,
                  int corruptAt, boolean bumpEpoch, long seed, Shape shape, Idempotence idempotence) implements Op {
    }

    /**
     * A batch from idempotent producer {@code producer} (one of {@value #PRODUCERS}), or with
     * {@code txnProducer} from transactional producer {@code producer % }{@value #TXN_PRODUCERS},
     * with its sequence or epoch chosen by {@code mode}; {@code amount} is how far back a retry goes,
     * or the size of a gap. A transactional producer's batch is transactional unless
     * {@code notTransactional} (a misbehaving client: INVALID_TXN_STATE during a transaction).
     */
    record Idempotence(int producer, SeqMode mode, int amount, boolean txnProducer, boolean notTransactional) {
        Idempotence(int producer, SeqMode mode, int amount) {
            this(producer, mode, amount, false, false);
        }
    }

    /**
     * The transaction coordinator's end-transaction marker for transactional producer
     * {@code producer}: COMMIT or ABORT, with transaction version 2 (the coordinator bumps the
     * producer epoch: {@code epochDelta} +1 is the normal case) or 0 (same epoch: 0 is normal), and
     * the coordinator epoch moved by {@code coordinatorDelta} (-1: a zombie coordinator); then a
     * read_committed read at {@code readAt} of the retained offsets.
     */
    record Marker(int producer, boolean commit, boolean tv2, int epochDelta, int coordinatorDelta, double readAt)
            implements Op {
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

    /**
     * Batches with their offsets already assigned, as a mirror or a migration from Kafka sends them
     * ({@link KafkaPartitionLog#appendWithOffsets}, Kafka's {@code appendAsFollower}): the first
     * starts {@code startShift} after the log end offset (negative: an overlap), each next one
     * {@code gapBefore} after the one before it.
     */
    record Mirror(int startShift, List<MirrorBatch> batches, boolean bumpEpoch) implements Op {
    }

    /**
     * One mirrored batch: from no producer ({@code producer} -1), one of the idempotent producers
     * (0 to {@value #PRODUCERS} - 1), a transactional batch of transactional producer
     * {@code producer - }{@value #MIRROR_TXN} (beginning or continuing its transaction), that
     * producer's COMMIT or ABORT marker ({@code producer - }{@value #MIRROR_MARKER}: the
     * coordinator's bumped epoch, as with transaction version 2), or a batch that is not
     * transactional from it ({@code producer - }{@value #MIRROR_NOT_TXN}: INVALID_TXN_STATE during its
     * transaction); data continues the producer's sequence after {@code seqGap} skipped numbers (a
     * follower does not check sequences); {@code corrupt} flips one byte past the header.
     */
    record MirrorBatch(int gapBefore, int count, int valueBytes, int compression, int producer, int seqGap,
                       boolean corrupt, long seed) {
    }

    record Advance(long ms) implements Op {
    }

    /** A read at {@code where} of the retained offsets, or with {@code edges} of one below the start to one above the end. */
    record Read(double where, int maxBytes, boolean minOneMessage, boolean readCommitted, boolean edges) implements Op {
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
        Arbitrary<Idempotence> txnIdempotence = Combinators.combine(
                Arbitraries.integers().between(0, TXN_PRODUCERS - 1),
                uniform(List.of(SeqMode.NEXT, SeqMode.NEXT, SeqMode.NEXT, SeqMode.NEXT, SeqMode.NEXT, SeqMode.RETRY,
                        SeqMode.RETRY, SeqMode.GAP, SeqMode.NEW_EPOCH, SeqMode.NEW_EPOCH_NOT_AT_ZERO, SeqMode.OLD_EPOCH)),
                Arbitraries.integers().between(1, 7),
                uniform(List.of(false, false, false, false, false, false, false, true)))
                .as((producer, mode, amount, notTxn) -> new Idempotence(producer, mode, amount, true, notTxn));
        Arbitrary<Op> txnAppend = Combinators.combine(append, txnIdempotence)
                .as((a, idem) -> (Op) new Append(a.count(), a.valueBytes(), a.compression(), a.tsDeltaMs(),
                        a.noTimestamp(), a.corruptAt(), a.bumpEpoch(), a.seed(), Shape.PLAIN, idem));
        Arbitrary<Op> marker = Combinators.combine(
                Arbitraries.integers().between(0, TXN_PRODUCERS - 1),
                uniform(List.of(true, false)),
                uniform(List.of(true, true, true, false)),
                uniform(List.of(0, 0, 0, 0, 0, -1, 1)),
                uniform(List.of(0, 0, 0, 0, 1, 1, -1, -1)),
                Arbitraries.doubles().between(0, 1))
                // epochDelta is relative to the normal case of the version (+1 with TV2, 0 otherwise)
                .as((producer, commit, tv2, delta, coordinatorDelta, readAt) -> (Op) new Marker(producer, commit, tv2,
                        delta + (tv2 ? 1 : 0), coordinatorDelta, readAt));
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
                        Arbitraries.of(true, false), Arbitraries.of(true, false), uniform(List.of(true, false, false)))
                .as(Read::new);
        Arbitrary<Op> delete = Combinators.combine(Arbitraries.doubles().between(0, 1),
                Arbitraries.integers().between(0, 9).map(i -> i == 0)).as(Delete::new);
        Arbitrary<Op> list = Combinators.combine(uniform(List.of(-2, -1, -3, -3, 0, 0, 0, 0)), Arbitraries.doubles().between(0, 1))
                .as(ListOffsets::new);
        Arbitrary<Op> retain = Arbitraries.just(new Retain());
        Arbitrary<Op> epochQuery = Arbitraries.integers().between(-1, 3).map(EpochQuery::new);
        Arbitrary<Op> restart = Arbitraries.of(true, false).map(Restart::new);
        Arbitrary<Op> expire = Arbitraries.just(new ExpireProducers());
        Arbitrary<MirrorBatch> mirrorBatch = Combinators.combine(
                uniform(List.of(0, 0, 0, 0, 1, 3, 17)),
                Arbitraries.integers().between(1, 12),
                Arbitraries.integers().between(0, 2000),
                Arbitraries.integers().between(0, COMPRESSIONS.size() - 1),
                uniform(List.of(-1, 0, 1, 2, -1, 0, 1, 2, MIRROR_TXN, MIRROR_TXN + 1, MIRROR_TXN, MIRROR_TXN + 1,
                        MIRROR_MARKER, MIRROR_MARKER + 1, MIRROR_NOT_TXN, MIRROR_NOT_TXN + 1)),
                uniform(List.of(0, 0, 0, 0, 0, 2)),
                Arbitraries.integers().between(0, 29).map(i -> i == 0),
                Arbitraries.longs()).as(MirrorBatch::new);
        Arbitrary<Op> mirror = Combinators.combine(
                uniform(List.of(0, 0, 0, 0, 0, 1, 5, 40, -1, -3)),
                mirrorBatch.list().ofMinSize(1).ofMaxSize(3),
                Arbitraries.integers().between(0, 9).map(i -> i == 0)).as(Mirror::new);
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(10, appendOfShape), net.jqwik.api.Tuple.of(6, txnAppend),
                        net.jqwik.api.Tuple.of(3, marker), net.jqwik.api.Tuple.of(4, mirror),
                        net.jqwik.api.Tuple.of(2, advance),
                        net.jqwik.api.Tuple.of(6, read), net.jqwik.api.Tuple.of(2, delete),
                        net.jqwik.api.Tuple.of(4, list), net.jqwik.api.Tuple.of(2, retain), net.jqwik.api.Tuple.of(2, epochQuery), net.jqwik.api.Tuple.of(2, restart),
                        net.jqwik.api.Tuple.of(1, expire))
                .list().ofMinSize(5).ofMaxSize(50);
    }

    private static String kind(Append a) {
        if (a.idempotence() == null) {
            return "";
        }
        if (!a.idempotence().txnProducer()) {
            return " idempotent";
        }
        return a.idempotence().notTransactional() ? " txn-producer non-transactional" : " transactional";
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

    /**
     * Found by the property (seed 2217972431595216507): a refused marker starts epoch 2 at offset 18,
     * mirrored batches of epoch 2 follow at 59; after a crash the cache started epoch 2 at 59, Kafka's at
     * 18 (Kafka's checkpoint kept it). The property now replaces such a crash by a clean restart
     * (difference 15); {@code AppendWithOffsetsTest} checks the crash itself.
     */
    @Example
    void leaderEpochCacheAfterACrashFollowingMirroredBatches() throws Exception {
        SeqMode next = SeqMode.NEXT;
        SeqMode retry = SeqMode.RETRY;
        partitionLogAgreesWithKafkasUnifiedLog(true, new Retained(3_600_000, 8000, 3000), List.of(
                new Append(1, 0, 0, -8234509, true, -1, false, 59, Shape.PLAIN, new Idempotence(0, next, 4, true, false)),
                new Append(17, 7, 1, -38594414, false, -1, false, 8113970, Shape.PLAIN,
                        new Idempotence(2, next, 7, false, false)),
                new Advance(86340765),
                new Append(5, 14, 2, -75623971, false, 259, true, -8699469370773078286L, Shape.PLAIN,
                        new Idempotence(0, retry, 4, false, false)),
                new Append(11, 18, 1, -82826247, false, -1, true, 34436, Shape.PLAIN,
                        new Idempotence(0, retry, 1, true, false)),
                new ListOffsets(-3, 0.32),
                new Read(0.7887821580617572, 78, true, true, false),
                new Mirror(-1, List.of(new MirrorBatch(0, 1, 9, 4, -1, 0, false, 9147079979660L)), false),
                new Marker(0, false, true, 0, 0, 0.77),
                new Mirror(40, List.of(new MirrorBatch(1, 1, 410, 3, 2, 0, false, 9393554),
                        new MirrorBatch(0, 1, 65, 3, 0, 0, false, 11877)), false),
                new Append(7, 680, 3, -83839693, false, -1, true, -30505, Shape.PLAIN,
                        new Idempotence(1, retry, 5, true, false)),
                new Restart(false)));
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
            boolean unbackedEpoch = false; // an epoch entry that no stored batch carries (difference 15)
            for (Op op : ops) {
                long endBefore = pair.ref.logEndOffset();
                Object epochsBefore = pair.ref.leaderEpochCache().epochEntries();
                if (op instanceof Append a) {
                    Statistics.label("generated").collect(a.shape() + kind(a));
                    leaderEpoch += a.bumpEpoch() ? 1 : 0;
                    pair.append(a, leaderEpoch);
                } else if (op instanceof Mirror m) {
                    leaderEpoch += m.bumpEpoch() ? 1 : 0;
                    pair.mirror(m, leaderEpoch);
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
                } else if (op instanceof Marker m) {
                    pair.marker(m, leaderEpoch);
                } else {
                    // difference 15: after a crash, Kafka keeps or rebuilds such an entry depending on its
                    // flush point; the crash is then replaced by a clean restart (which both keep)
                    boolean clean = ((Restart) op).clean() || unbackedEpoch;
                    if (clean != ((Restart) op).clean()) {
                        Statistics.label("restart").collect("crash made clean: an epoch entry no batch carries");
                    }
                    pair.restart(clean);
                }
                if ((op instanceof Append || op instanceof Marker || op instanceof Mirror)
                        && pair.ref.logEndOffset() == endBefore
                        && !pair.ref.leaderEpochCache().epochEntries().equals(epochsBefore)) {
                    unbackedEpoch = true; // nothing stored, yet the epoch cache changed (refused or duplicate)
                }
                pair.syncMirror();
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
        /**
         * Batches (by first offset) that Kafka restored at a restart with another timestamp than
         * they were stored with: Kafka's producer snapshot keeps each producer's last batch and the
         * producer's last timestamp, and restores the batch with that timestamp, which a later
         * transaction marker's differs from. This log keeps each batch's own.
         */
        final Map<Long, Long> kafkaRestoredTimestamps = new java.util.HashMap<>();
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
            boolean transactional = false;
            ProducerStateEntry kafkaEntry = null;
            if (a.idempotence() == null) {
                produced = batch(a, -1, (short) -1, -1, false);
            } else {
                producerId = a.idempotence().txnProducer()
                        ? FIRST_TXN_PRODUCER_ID + a.idempotence().producer() % TXN_PRODUCERS
                        : FIRST_PRODUCER_ID + a.idempotence().producer();
                transactional = a.idempotence().txnProducer() && !a.idempotence().notTransactional();
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
                    produced = batch(a, producerId, producerEpoch, firstSeq, transactional);
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
            if (retried != null && expected instanceof AppendInfo kafkaInfo && actual instanceof AppendInfo
                    && kafkaRestoredTimestamps.containsKey(kafkaInfo.baseOffset())) {
                // Kafka restored the batch at a restart with a later marker's timestamp (see
                // kafkaRestoredTimestamps): Kafka answers the duplicate with that time, this log with the batch's
                int retriedSeq = retried.firstSeq();
                long batchTime = ours.producerState(producerId).batches().stream()
                        .filter(m -> m.firstSeq() == retriedSeq).findFirst().orElseThrow().timestamp();
                expected = new AppendInfo(kafkaInfo.baseOffset(), kafkaInfo.lastOffset(), batchTime, kafkaInfo.logStartOffset());
                Statistics.label("append").collect("RETRY answered with a marker's time by Kafka");
            }
            assertThat(actual).as("append %s", a).isEqualTo(expected);
            Statistics.label("append").collect(a.shape() + kind(a) + " "
                    + (actual instanceof Errors e ? e.name() : ref.logEndOffset() == endBefore ? "duplicate" : "ok"));
            assertThat(actualRecordErrors).extracting(r -> r.batchIndex).as("record errors of %s", a)
                    .isEqualTo(expectedRecordErrors.stream().map(r -> r.batchIndex).toList());
            if (producerId >= 0 && actual instanceof AppendInfo info && ref.logEndOffset() > endBefore) {
                droppedByKafka.remove(producerId); // Kafka has it again
                ProducerModel model = producers.get(producerId);
                if (retried != null) {
                    // a retry stored as a new batch (its producer state was gone): it carries its own
                    // epoch and sequence, not the ones computed for the mode
                    producerEpoch = retried.epoch();
                    firstSeq = retried.firstSeq();
                }
                model.epoch = producerEpoch;
                model.nextSeq = firstSeq + (int) (info.lastOffset() - info.baseOffset()) + 1;
                model.sent.add(new Sent(producerEpoch, firstSeq, model.nextSeq - 1, sentBytes, info, restarts));
            }
        }

        /**
         * Appends already-offset batches to both: {@code UnifiedLog.appendAsFollower} (with the
         * highest replica epoch, so that Kafka skips no batch for a higher partition leader epoch)
         * and {@link KafkaPartitionLog#appendWithOffsets}. Idempotent batches are recorded like
         * accepted client batches, so that later retries (as a client sends them: base offset 0) and
         * continuing batches go through {@code appendAsLeader} on both.
         */
        void mirror(Mirror m, int leaderEpoch) throws IOException {
            long start = ref.logStartOffset();
            long next = Math.max(0, ref.logEndOffset() + m.startShift());
            List<MemoryRecords> parts = new ArrayList<>();
            Map<Long, Integer> plannedSeq = new java.util.HashMap<>();
            Map<Long, Short> plannedEpoch = new java.util.HashMap<>();
            List<Runnable> onSuccess = new ArrayList<>();
            for (MirrorBatch b : m.batches()) {
                next += b.gapBefore();
                Append a = new Append(b.count(), b.valueBytes(), b.compression(), -1000L * b.count(), false, -1, false,
                        b.seed(), Shape.PLAIN, null);
                MemoryRecords client;
                int offsets = b.count();
                if (b.producer() < 0) {
                    client = batch(a, -1, (short) -1, -1, false);
                } else if (b.producer() >= MIRROR_MARKER && b.producer() < MIRROR_NOT_TXN) {
                    long producerId = FIRST_TXN_PRODUCER_ID + b.producer() - MIRROR_MARKER;
                    ProducerModel model = producers.computeIfAbsent(producerId, id -> new ProducerModel());
                    // the coordinator bumps the epoch (transaction version 2); a follower checks no epoch
                    short epoch = (short) (plannedEpoch.getOrDefault(producerId, model.epoch) + 1);
                    plannedEpoch.put(producerId, epoch);
                    plannedSeq.put(producerId, 0);
                    boolean commit = (b.seed() & 1) == 0;
                    client = MemoryRecords.withEndTransactionMarker(clock.millis(), producerId, epoch,
                            new EndTransactionMarker(commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
                                    model.coordinatorEpoch));
                    offsets = 1;
                    Statistics.label("mirrored transactional").collect(commit ? "COMMIT" : "ABORT");
                    onSuccess.add(() -> {
                        droppedByKafka.remove(producerId);
                        model.epoch = epoch;
                        model.nextSeq = 0;
                    });
                } else {
                    boolean txnProducer = b.producer() >= MIRROR_TXN;
                    boolean transactional = txnProducer && b.producer() < MIRROR_MARKER;
                    long producerId = !txnProducer ? FIRST_PRODUCER_ID + b.producer()
                            : FIRST_TXN_PRODUCER_ID + b.producer() - (transactional ? MIRROR_TXN : MIRROR_NOT_TXN);
                    ProducerModel model = producers.computeIfAbsent(producerId, id -> new ProducerModel());
                    short epoch = plannedEpoch.getOrDefault(producerId, model.epoch);
                    int seq = plannedSeq.getOrDefault(producerId, model.nextSeq) + b.seqGap();
                    plannedSeq.put(producerId, seq + b.count());
                    client = batch(a, producerId, epoch, seq, transactional);
                    byte[] clientBytes = Batches.bytes(Batches.copy(client));
                    AppendInfo original = new AppendInfo(next, next + b.count() - 1, -1, start);
                    if (txnProducer) {
                        Statistics.label("mirrored transactional").collect(transactional ? "transactional" : "not transactional");
                    }
                    onSuccess.add(() -> {
                        droppedByKafka.remove(producerId);
                        model.epoch = epoch;
                        model.nextSeq = seq + b.count();
                        model.sent.add(new Sent(epoch, seq, seq + b.count() - 1, clientBytes, original, restarts));
                    });
                }
                MemoryRecords stored = Batches.copy(client);
                org.apache.kafka.common.record.internal.MutableRecordBatch header = stored.batches().iterator().next();
                header.setLastOffset(next + offsets - 1);
                header.setPartitionLeaderEpoch(leaderEpoch);
                if (b.corrupt()) {
                    ByteBuffer buf = stored.buffer();
                    int pos = 61 + (int) Math.floorMod(b.seed(), (long) Math.max(1, buf.remaining() - 61));
                    buf.put(pos, (byte) (buf.get(pos) ^ 0x5a));
                }
                parts.add(stored);
                next += offsets;
            }
            MemoryRecords all = parts.get(0);
            for (int i = 1; i < parts.size(); i++) {
                all = concat(all, parts.get(i), Integer.MAX_VALUE);
            }
            Object expected;
            try {
                LogAppendInfo info = ref.appendAsFollower(Batches.copy(all), Integer.MAX_VALUE);
                ref.updateHighWatermark(ref.logEndOffset());
                expected = new AppendInfo(info.firstOffset(), info.lastOffset(), info.logAppendTime(), info.logStartOffset());
            } catch (RuntimeException e) {
                expected = Errors.forException(e);
            }
            Object actual;
            try {
                actual = ours.appendWithOffsets(Batches.copy(all)).join();
            } catch (CompletionException e) {
                actual = ((KafkaLogException) e.getCause()).error();
            }
            assertThat(actual).as("appendWithOffsets %s at log end %d", m, ours.logEndOffset()).isEqualTo(expected);
            Statistics.label("mirror").collect(actual instanceof Errors e ? e.name()
                    : m.batches().stream().anyMatch(b -> b.gapBefore() > 0) || m.startShift() > 0 ? "ok with gaps" : "ok");
            if (actual instanceof AppendInfo) {
                onSuccess.forEach(Runnable::run);
            }
        }

        /**
         * Appends the batches {@code ref} stored since the last call to the mirror, each in a segment
         * of its own (also those of markers and of appendWithOffsets; a forward offset gap stays a gap
         * there). A segment without timestamps gets modification time 0: Kafka's retention then
         * uses the file's time, this log counts such a batch as old (module README).
         */
        void syncMirror() throws IOException {
            while (mirror.logEndOffset() < ref.logEndOffset()) {
                MemoryRecords stored = MemoryRecords.readableRecords(ByteBuffer.wrap(completeBatches(
                        ref.read(mirror.logEndOffset(), 1, FetchIsolation.HIGH_WATERMARK, true).records)));
                RecordBatch batch = stored.batches().iterator().next();
                mirror.appendAsFollower(stored, Integer.MAX_VALUE);
                mirror.roll();
                mirror.updateHighWatermark(mirror.logEndOffset());
                if (batch.maxTimestamp() < 0) {
                    mirror.logSegments().stream().filter(seg -> seg.baseOffset() == batch.baseOffset()).findFirst()
                            .orElseThrow().setLastModified(0);
                }
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

        MemoryRecords batch(Append a, long producerId, short producerEpoch, int baseSequence, boolean transactional) {
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
                        : transactional
                        ? MemoryRecords.withTransactionalRecords(compression, producerId, producerEpoch, baseSequence, records)
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

        void marker(Marker m, int leaderEpoch) throws IOException {
            long producerId = FIRST_TXN_PRODUCER_ID + m.producer();
            ProducerModel model = producers.computeIfAbsent(producerId, id -> new ProducerModel());
            boolean tv2 = m.tv2();
            int epochDelta = m.epochDelta();
            int coordinatorDelta = m.coordinatorDelta();
            if (droppedByKafka.contains(producerId)) {
                // Kafka forgot the producer at a restart, this log did not (and has no transaction
                // of it ongoing: restart() ended those): only the normal marker means the same to both
                tv2 = true;
                epochDelta = 1;
                coordinatorDelta = 0;
            }
            short producerEpoch = (short) Math.max(0, model.epoch + epochDelta);
            int coordinatorEpoch = Math.max(0, model.coordinatorEpoch + coordinatorDelta);
            Object result = writeMarker(producerId, producerEpoch, coordinatorEpoch, m.commit(), tv2, leaderEpoch);
            assertThat(result).as("marker %s", m).isNotInstanceOf(AssertionError.class);
            Statistics.label("marker").collect((m.commit() ? "COMMIT" : "ABORT") + (tv2 ? " tv2 " : " tv0 ")
                    + (result instanceof Errors e ? e.name() : "ok"));
            read(new Read(m.readAt(), 60_000, true, true, false));
        }

        /**
         * Writes the same marker to both logs and compares the outcome (the marker's offset or the
         * Kafka error); on success, updates the producer's model.
         *
         * @return the offset or the error
         */
        Object writeMarker(long producerId, short producerEpoch, int coordinatorEpoch, boolean commit, boolean tv2,
                           int leaderEpoch) throws IOException {
            short transactionVersion = (short) (tv2 ? 2 : 0);
            MemoryRecords marker = MemoryRecords.withEndTransactionMarker(clock.millis(), producerId, producerEpoch,
                    new EndTransactionMarker(commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT, coordinatorEpoch));
            Object expected;
            try {
                LogAppendInfo info = ref.appendAsLeader(marker, leaderEpoch, AppendOrigin.COORDINATOR, RequestLocal.noCaching(),
                        VerificationGuard.SENTINEL, transactionVersion);
                ref.updateHighWatermark(ref.logEndOffset());
                expected = info.firstOffset();
            } catch (RuntimeException e) {
                expected = Errors.forException(e);
            }
            Object actual;
            try {
                actual = ours.appendTxnMarker(producerId, producerEpoch, coordinatorEpoch, commit, transactionVersion, leaderEpoch)
                        .join();
            } catch (CompletionException e) {
                actual = ((KafkaLogException) e.getCause()).error();
            }
            assertThat(actual).as("%s marker of producer %d epoch %d coordinator epoch %d tv %d", commit ? "COMMIT" : "ABORT",
                    producerId, producerEpoch, coordinatorEpoch, transactionVersion).isEqualTo(expected);
            if (actual instanceof Long) {
                ProducerModel model = producers.computeIfAbsent(producerId, id -> new ProducerModel());
                if (model.epoch != producerEpoch) {
                    model.nextSeq = 0; // a new epoch starts at sequence 0
                }
                model.epoch = producerEpoch;
                model.coordinatorEpoch = coordinatorEpoch;
                droppedByKafka.remove(producerId); // Kafka has it again, with the same (empty) batches
            }
            return actual;
        }

        /**
         * Kafka's last stable offset, raised to its log start offset: when deleteRecords moves the
         * start above an ongoing transaction's first offset, Kafka converts the start to the offset
         * metadata of the batch containing it, whose base offset may be lower (module README,
         * deliberate differences); reads at or above the start return nothing either way.
         */
        long kafkaLastStableOffset() {
            long start = ref.logStartOffset();
            long lso = Math.max(ref.lastStableOffset(), start);
            boolean beganBelowStart = ref.producerStateManager().firstUnstableOffset()
                    .map(first -> first.messageOffset < start).orElse(false);
            if (beganBelowStart && lso > start && lso < ref.logEndOffset()) {
                // a transaction began below the start, and the start lies in an offset gap (left by
                // appendWithOffsets): Kafka names the first batch after the gap, this log the start
                // itself (difference 13); no record lies between the two. (A transaction that begins
                // after a gap at the start is not this case: both name its first offset.)
                try {
                    RecordBatch first = MemoryRecords.readableRecords(ByteBuffer.wrap(completeBatches(
                            ref.read(start, 1, FetchIsolation.HIGH_WATERMARK, true).records))).firstBatch();
                    if (first != null && first.baseOffset() > start && first.baseOffset() == lso) {
                        return start;
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            return lso;
        }

        void read(Read r) throws IOException {
            long start = ref.logStartOffset();
            long end = ref.logEndOffset();
            // from one below the start to one above the end
            long offset = r.edges() || end == start ? start - 1 + Math.round(r.where() * (end - start + 2))
                    : start + Math.min(end - start - 1, (long) (r.where() * (end - start)));
            Object expected;
            byte[] expectedBytes = null;
            try {
                FetchDataInfo info = ref.read(offset, r.maxBytes(),
                        r.readCommitted() ? FetchIsolation.TXN_COMMITTED : FetchIsolation.HIGH_WATERMARK, r.minOneMessage());
                expectedBytes = completeBatches(info.records);
                expected = List.of(describe(expectedBytes), ref.highWatermark(), kafkaLastStableOffset(), ref.logStartOffset(),
                        abortedWithin(info, expectedBytes));
            } catch (RuntimeException e) {
                expected = Errors.forException(e);
            }
            Object actual;
            byte[] actualBytes = null;
            try {
                try (ReadResult result = ours.read(offset, r.maxBytes(),
                        r.readCommitted() ? Isolation.TXN_COMMITTED : Isolation.HIGH_WATERMARK, r.minOneMessage()).join()) {
                    actualBytes = Batches.bytes(result.records());
                    actual = List.of(describe(actualBytes), result.highWatermark(), result.lastStableOffset(),
                            result.logStartOffset(), result.abortedTransactions());
                }
            } catch (CompletionException e) {
                actual = ((KafkaLogException) e.getCause()).error();
            }
            assertThat(actual).as("read %s at offset %d (log [%d, %d))", r, offset, start, end).isEqualTo(expected);
            assertThat(actualBytes).as("bytes read by %s at offset %d", r, offset).isEqualTo(expectedBytes);
            Statistics.label("read").collect(actual instanceof Errors e ? e.name()
                    : actualBytes.length == 0 ? "empty" : "records");
            if (actual instanceof List<?> l && !((List<?>) l.get(4)).isEmpty()) {
                Statistics.label("read_committed with aborted transactions").collect(((List<?>) l.get(4)).size());
            }
        }

        /**
         * Kafka's aborted transactions of a read, limited to those that begin below the end of the
         * complete batches compared (Kafka's bound is the sparse offset index entry at or after the
         * byte range it read, which may lie beyond; a consumer ignores the extra entries); none
         * without records, as this log answers.
         */
        static List<AbortedTransaction> abortedWithin(FetchDataInfo info, byte[] completeBytes) {
            long upperBound = -1;
            for (RecordBatch b : MemoryRecords.readableRecords(ByteBuffer.wrap(completeBytes)).batches()) {
                upperBound = b.lastOffset() + 1;
            }
            long bound = upperBound;
            return info.abortedTransactions.orElse(List.of()).stream()
                    .filter(t -> t.firstOffset() < bound)
                    .map(t -> new AbortedTransaction(t.producerId(), t.firstOffset()))
                    .toList();
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
            KafkaPartitionLog old = ours;
            ours = null; // if reopening fails, close() must not close the old log over a closed store
            if (clean) {
                old.close();
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
            for (long producerId : producers.keySet()) {
                ProducerStateEntry kafka = ref.producerStateManager().activeProducers().get(producerId);
                ProducerStateTable.Entry mine = ours.producerState(producerId);
                if (kafka == null || mine == null) {
                    continue;
                }
                for (org.apache.kafka.storage.internals.log.BatchMetadata b : kafka.batchMetadata()) {
                    mine.batches().stream().filter(m -> m.firstOffset() == b.firstOffset() && m.timestamp() != b.timestamp())
                            .findFirst().ifPresent(m -> {
                                assertThat(b.timestamp()).as("timestamp Kafka restored for batch %s", b).isEqualTo(kafka.lastTimestamp());
                                kafkaRestoredTimestamps.put(b.firstOffset(), b.timestamp());
                            });
                }
            }
            for (long producerId : List.copyOf(droppedByKafka)) {
                ProducerStateTable.Entry mine = ours.producerState(producerId);
                if (mine != null && (mine.txnFirstOffset() != ProducerStateTable.NO_TXN
                        || mine.coordinatorEpoch() != ProducerStateTable.NO_COORDINATOR_EPOCH)) {
                    // Kafka lost the producer's ongoing transaction or coordinator epoch with the
                    // producer; the coordinator ends the transaction (as it does one that times out)
                    // with a bumped epoch; after that both agree again
                    ProducerModel model = producers.get(producerId);
                    Object result = writeMarker(producerId, (short) (model.epoch + 1), model.coordinatorEpoch, true, true,
                            ours.latestEpoch().orElse(0));
                    assertThat(result).as("commit of a transaction Kafka lost at a restart").isInstanceOf(Long.class);
                    Statistics.label("restart").collect("marker for a transactional producer Kafka lost");
                }
            }
        }

        void assertOffsetsAgree(Op after) {
            assertThat(List.of(ours.logStartOffset(), ours.logEndOffset(), ours.highWatermark(), ours.lastStableOffset()))
                    .as("log start, log end, high watermark, last stable offset after %s", after)
                    .isEqualTo(List.of(ref.logStartOffset(), ref.logEndOffset(), ref.highWatermark(), kafkaLastStableOffset()));
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
                        .map(b -> List.of((long) b.firstSeq(), (long) b.lastSeq(), b.firstOffset(), b.lastOffset(),
                                kafkaRestoredTimestamps.getOrDefault(b.firstOffset(), b.timestamp())))
                        .toList();
                assertThat(List.of((int) mine.epoch(), mine.coordinatorEpoch(), mine.txnFirstOffset()))
                        .as("epoch, coordinator epoch, ongoing transaction of producer %d after %s", producerId, after)
                        .isEqualTo(List.of((int) kafka.producerEpoch(), kafka.coordinatorEpoch(),
                                kafka.currentTxnFirstOffset().orElse(ProducerStateTable.NO_TXN)));
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
        int coordinatorEpoch;

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
