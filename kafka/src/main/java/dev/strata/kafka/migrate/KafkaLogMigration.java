package dev.strata.kafka.migrate;

import dev.strata.api.StreamStore;
import dev.strata.kafka.AppendInfo;
import dev.strata.kafka.KafkaLogException;
import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.PartitionLogConfig;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.DefaultRecordBatch;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Moves one Kafka topic-partition into a Strata {@link KafkaPartitionLog} with its offsets: the
 * batches of the partition directory's segments ({@link KafkaPartitionDir}, read with Kafka's own
 * {@code FileRecords}) are appended byte for byte with
 * {@link KafkaPartitionLog#appendWithOffsets} (Kafka's follower path), so every batch keeps its
 * offsets, timestamps, partition leader epoch and producer fields, and offset gaps (compaction,
 * transactions' markers, a trimmed start) stay gaps. Then the target's log end offset and log start
 * offset are set to the source's.
 *
 * <h2>What carries over</h2>
 * <ul>
 *   <li>Every batch of the segment files, at its offsets (batches below the log start offset that
 *       are still in the first segment too: Kafka rebuilds its producer state from them as well),
 *       then {@code deleteRecords(source log start offset)}.</li>
 *   <li>The log end offset: if the source's end lies beyond its last batch (an empty active
 *       segment, as after all data was deleted), an empty batch spans the rest (the log's gap rule
 *       leaves it out of reads).</li>
 *   <li>Producer state (idempotent sequences, epochs, ongoing and aborted transactions, the last
 *       stable offset) and the leader-epoch cache are rebuilt by the target from the batches, as
 *       Kafka's follower and Kafka's log loader rebuild them.</li>
 * </ul>
 * Not carried over (see the module README): Kafka's producer snapshots (producers whose batches
 * are all in deleted segments are not known; a transaction whose first batch is in a deleted
 * segment is not known as ongoing or aborted), the {@code leader-epoch-checkpoint} (epochs that
 * wrote no batch are missing), the indexes (rebuilt).
 *
 * <h2>Idempotent and resumable</h2>
 * A run continues at the target's log end offset: source batches below it are taken to be there
 * already (and not appended again), so running again after a crash, or after a run cut short by
 * {@link MigrationOptions#maxBatches()}, continues where the target ends, and running again after
 * a complete run changes nothing. A target end inside a source batch, or beyond the source's end,
 * means the target holds other data: the run fails. {@link MigrationVerifier#verify} compares
 * every batch afterwards.
 *
 * <p>Thread-safety: the static methods keep no state; the target must have no other writer during
 * a run. Failure: {@link MigrationException} (the source cannot be read, the target does not fit,
 * or an append failed; the target's log end offset then says where a new run continues).
 */
public final class KafkaLogMigration {

    static final String USAGE = """
            usage: java -cp <strata-kafka, strata-core and their dependencies> dev.strata.kafka.migrate.KafkaLogMigration \\
                     --kafka-dir <log.dir>/<topic>-<partition> --data-dir PATH [options]
              --kafka-dir DIR         the Kafka partition directory (stop the Kafka broker first)
              --data-dir PATH         the Strata store (as strata-kafka-broker's --data-dir)
              --stream-id N           continue or verify the partition log with these stream ids
              --meta-stream-id N        (both or neither; without them a new partition log is created)
              --epoch N               stream epoch to open with (default 0; higher than a crashed run's fences it)
              --log-start-offset N    instead of the one in <log.dir>/log-start-offset-checkpoint
              --verify-only           compare source and target, append nothing""";

    private KafkaLogMigration() {
    }

    /**
     * Appends the source's batches from the target's log end offset on, then (once all are in) sets
     * the target's log end and start offsets to the source's.
     *
     * @return what this run did
     * @throws MigrationException if the source cannot be read, the target does not fit it, or an
     *     append fails
     */
    public static MigrationSummary migrate(KafkaPartitionDir source, KafkaPartitionLog target, MigrationOptions options) {
        long resumeAt = target.logEndOffset();
        long sourceEnd = source.logEndOffset();
        if (resumeAt > sourceEnd) {
            throw new MigrationException("the target's log end offset " + resumeAt + " is beyond the source's " + sourceEnd
                    + " (" + source.dir() + "): the target holds other data");
        }
        Appender appender = new Appender(target, options);
        boolean[] stopped = {false};
        source.forEachBatch(resumeAt, batch -> {
            if (batch.baseOffset() < resumeAt) {
                throw new MigrationException("the target's log end offset " + resumeAt + " lies inside source batch ["
                        + batch.baseOffset() + ", " + batch.lastOffset() + "] of " + source.dir()
                        + ": the target holds other data");
            }
            if (options.maxBatches() >= 0 && appender.batches + appender.pending.size() >= options.maxBatches()) {
                stopped[0] = true;
                return false;
            }
            ByteBuffer bytes = ByteBuffer.allocate(batch.sizeInBytes());
            batch.writeTo(bytes);
            Integer count = batch.countOrNull();
            appender.add(bytes.flip(), batch.baseOffset(), batch.lastOffset(), count == null ? 0 : count);
            return true;
        });
        appender.flush();
        boolean complete = !stopped[0] && finish(source, target, sourceEnd);
        return new MigrationSummary(appender.batches, appender.records, appender.bytes, appender.firstOffset,
                appender.lastOffset, resumeAt, target.logStartOffset(), target.logEndOffset(), complete);
    }

    /** The source's log end and start offsets on the target; whether the target now ends where the source does. */
    private static boolean finish(KafkaPartitionDir source, KafkaPartitionLog target, long sourceEnd) {
        long end = target.logEndOffset();
        if (end < sourceEnd) {
            // an empty v2 batch without producer id spans the rest: the target's reads leave it out
            // (as gap fillers), and with the latest epoch it adds no leader-epoch entry
            ByteBuffer empty = ByteBuffer.allocate(DefaultRecordBatch.RECORD_BATCH_OVERHEAD);
            DefaultRecordBatch.writeEmptyHeader(empty, RecordBatch.MAGIC_VALUE_V2, RecordBatch.NO_PRODUCER_ID,
                    RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE, end, sourceEnd - 1,
                    target.latestEpoch().orElse(0), TimestampType.CREATE_TIME, RecordBatch.NO_TIMESTAMP, false, false);
            append(target, MemoryRecords.readableRecords(empty.flip()), end, sourceEnd - 1);
        }
        if (target.logStartOffset() < source.logStartOffset()) {
            try {
                target.deleteRecords(source.logStartOffset()).join();
            } catch (CompletionException e) {
                throw new MigrationException("cannot move the target's log start offset to the source's "
                        + source.logStartOffset() + ": " + e.getCause().getMessage(), e.getCause());
            }
        }
        return target.logEndOffset() == sourceEnd;
    }

    private static AppendInfo append(KafkaPartitionLog target, MemoryRecords records, long first, long last) {
        try {
            return target.appendWithOffsets(records).join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            String code = cause instanceof KafkaLogException k ? " (" + k.error() + ")" : "";
            throw new MigrationException("appending source offsets " + first + ".." + last + " failed" + code + ": "
                    + cause.getMessage() + "; the target's log end offset is now " + target.logEndOffset()
                    + " (a new run continues from there)", cause);
        }
    }

    /** Collects whole batches into calls of at most {@code maxCallBytes} and appends them. Single-use. */
    private static final class Appender {
        final KafkaPartitionLog target;
        final int maxCallBytes;
        final List<ByteBuffer> pending = new ArrayList<>();
        int pendingBytes;
        long pendingFirst = -1;
        long pendingLast = -1;
        long pendingRecords;
        long batches;
        long records;
        long bytes;
        long firstOffset = -1;
        long lastOffset = -1;

        Appender(KafkaPartitionLog target, MigrationOptions options) {
            this.target = target;
            this.maxCallBytes = options.maxCallBytes();
        }

        void add(ByteBuffer batch, long base, long last, int count) {
            if (!pending.isEmpty() && pendingBytes + batch.remaining() > maxCallBytes) {
                flush();
            }
            if (pending.isEmpty()) {
                pendingFirst = base;
            }
            pending.add(batch);
            pendingBytes += batch.remaining();
            pendingLast = last;
            pendingRecords += count;
        }

        void flush() {
            if (pending.isEmpty()) {
                return;
            }
            ByteBuffer call = ByteBuffer.allocate(pendingBytes);
            pending.forEach(call::put);
            append(target, MemoryRecords.readableRecords(call.flip()), pendingFirst, pendingLast);
            if (firstOffset < 0) {
                firstOffset = pendingFirst;
            }
            lastOffset = pendingLast;
            batches += pending.size();
            records += pendingRecords;
            bytes += pendingBytes;
            pending.clear();
            pendingBytes = 0;
            pendingRecords = 0;
        }
    }

    /** Parsed command line. */
    record Args(Path kafkaDir, Path dataDir, long streamId, long metaStreamId, long epoch, long logStartOffset,
                boolean verifyOnly) {
    }

    /**
     * The command-line tool: opens the Strata store under {@code --data-dir} (needs strata-core on
     * the class path), creates the partition log (printing its stream ids) or opens it with
     * {@code --stream-id} and {@code --meta-stream-id}, migrates, verifies, and prints both
     * summaries. Exit status 0 if the verification found no difference, 1 on a failure or
     * difference, 2 for bad arguments.
     */
    public static void main(String[] args) {
        Args parsed;
        try {
            parsed = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("KafkaLogMigration: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        try (StreamStore store = dev.strata.core.Strata.builder().dataDir(parsed.dataDir()).build()) {
            boolean ok = run(parsed, store, System.out);
            store.close();
            System.exit(ok ? 0 : 1);
        } catch (RuntimeException e) {
            System.err.println("KafkaLogMigration: failed: " + e);
            System.exit(1);
        }
    }

    /**
     * The tool's work on an open store: create or open the partition log, migrate (unless
     * {@code --verify-only}), verify, print to {@code out}.
     *
     * @return whether the verification found no difference
     */
    static boolean run(Args a, StreamStore store, PrintStream out) {
        KafkaPartitionDir source = KafkaPartitionDir.open(a.kafkaDir());
        if (a.logStartOffset() >= 0) {
            source = source.withLogStartOffset(a.logStartOffset());
        }
        PartitionLogConfig config = PartitionLogConfig.builder().build();
        KafkaPartitionLog target;
        if (a.streamId() < 0) {
            target = KafkaPartitionLog.create(store, a.epoch(), config).join();
            out.println("created the partition log: --stream-id " + target.streamId() + " --meta-stream-id "
                    + target.metaStreamId() + " (give both to continue or verify)");
        } else {
            target = KafkaPartitionLog.open(store, a.streamId(), a.metaStreamId(), a.epoch(), config).join();
        }
        out.flush();
        try (target) {
            if (!a.verifyOnly()) {
                out.println(migrate(source, target, MigrationOptions.DEFAULTS));
            }
            VerificationReport report = MigrationVerifier.verify(source, target);
            out.println(report);
            return report.ok();
        }
    }

    /** @throws IllegalArgumentException naming the option that is unknown, lacks a value or has a bad one */
    static Args parse(String[] args) {
        Path kafkaDir = null;
        Path dataDir = null;
        long streamId = -1;
        long metaStreamId = -1;
        long epoch = 0;
        long logStart = -1;
        boolean verifyOnly = false;
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (name.equals("--verify-only")) {
                verifyOnly = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            String value = args[++i];
            switch (name) {
                case "--kafka-dir" -> kafkaDir = Path.of(value);
                case "--data-dir" -> dataDir = Path.of(value);
                case "--stream-id" -> streamId = number(name, value);
                case "--meta-stream-id" -> metaStreamId = number(name, value);
                case "--epoch" -> epoch = number(name, value);
                case "--log-start-offset" -> logStart = number(name, value);
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (kafkaDir == null || dataDir == null) {
            throw new IllegalArgumentException("--kafka-dir and --data-dir are required");
        }
        if ((streamId < 0) != (metaStreamId < 0)) {
            throw new IllegalArgumentException("give both --stream-id and --meta-stream-id, or neither");
        }
        if (verifyOnly && streamId < 0) {
            throw new IllegalArgumentException("--verify-only needs --stream-id and --meta-stream-id");
        }
        return new Args(kafkaDir, dataDir, streamId, metaStreamId, epoch, logStart, verifyOnly);
    }

    private static long number(String name, String value) {
        try {
            long n = Long.parseLong(value);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(name + " must be an integer >= 0, got " + value);
    }
}
