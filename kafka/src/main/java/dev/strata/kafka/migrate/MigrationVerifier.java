package dev.strata.kafka.migrate;

import dev.strata.kafka.Isolation;
import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.ReadResult;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Compares a migrated {@link KafkaPartitionLog} with its Kafka source, batch by batch: every batch
 * of the source at or above its log start offset must be read back from the target (through
 * {@link KafkaPartitionLog#read}, as consumers read it) at the same offsets with the same bytes, in
 * the same order, with nothing else in between, and the log start and end offsets must be equal.
 * Reads the whole retained log once.
 *
 * <p>Stateless; thread-safe. The target must not change while it is verified.
 */
public final class MigrationVerifier {
    /** How many differences a report describes. */
    public static final int MAX_EXAMPLES = 10;
    private static final int READ_BYTES = 1 << 20;

    private MigrationVerifier() {
    }

    /**
     * @return the comparison (never throws for a difference: see {@link VerificationReport#ok()})
     * @throws MigrationException if the source cannot be read or a read of the target fails
     */
    public static VerificationReport verify(KafkaPartitionDir source, KafkaPartitionLog target) {
        long sourceStart = source.logStartOffset();
        long sourceEnd = source.logEndOffset();
        Comparison c = new Comparison(target);
        if (target.logStartOffset() != sourceStart) {
            c.difference("log start offset: source " + sourceStart + ", target " + target.logStartOffset());
        }
        if (target.logEndOffset() != sourceEnd) {
            c.difference("log end offset: source " + sourceEnd + ", target " + target.logEndOffset());
        }
        source.forEachBatch(sourceStart, batch -> {
            ByteBuffer expected = ByteBuffer.allocate(batch.sizeInBytes());
            batch.writeTo(expected);
            Integer count = batch.countOrNull();
            c.compare(batch.baseOffset(), batch.lastOffset(), expected.flip(), count == null ? 0 : count);
            return true;
        });
        for (RecordBatch extra = c.nextTarget(); extra != null; extra = c.nextTarget()) {
            c.difference("batch [" + extra.baseOffset() + ", " + extra.lastOffset() + "] is in the target only");
        }
        return new VerificationReport(c.batches, c.records, c.bytes, c.firstOffset, c.lastOffset, sourceStart, sourceEnd,
                c.differences, c.examples);
    }

    /** The running comparison: the target's batches, read ahead in order. Single-use. */
    private static final class Comparison {
        final KafkaPartitionLog target;
        final ArrayDeque<RecordBatch> ahead = new ArrayDeque<>();
        long next;
        boolean exhausted;
        long batches;
        long records;
        long bytes;
        long firstOffset = -1;
        long lastOffset = -1;
        long differences;
        final List<String> examples = new ArrayList<>();

        Comparison(KafkaPartitionLog target) {
            this.target = target;
            this.next = target.logStartOffset();
        }

        void difference(String what) {
            differences++;
            if (examples.size() < MAX_EXAMPLES) {
                examples.add(what);
            }
        }

        void compare(long base, long last, ByteBuffer expected, int count) {
            batches++;
            records += count;
            bytes += expected.remaining();
            if (firstOffset < 0) {
                firstOffset = base;
            }
            lastOffset = last;
            RecordBatch actual = nextTarget();
            while (actual != null && actual.lastOffset() < base) {
                difference("batch [" + actual.baseOffset() + ", " + actual.lastOffset() + "] is in the target only");
                actual = nextTarget();
            }
            if (actual == null || actual.baseOffset() > last) {
                difference("batch [" + base + ", " + last + "] is missing from the target");
                if (actual != null) {
                    ahead.addFirst(actual);
                }
                return;
            }
            if (actual.baseOffset() != base || actual.lastOffset() != last) {
                difference("batch [" + base + ", " + last + "] is [" + actual.baseOffset() + ", " + actual.lastOffset()
                        + "] in the target");
                return;
            }
            ByteBuffer stored = ByteBuffer.allocate(actual.sizeInBytes());
            actual.writeTo(stored);
            if (!stored.flip().equals(expected)) {
                difference("batch [" + base + ", " + last + "] has other bytes in the target (size " + stored.remaining()
                        + " vs " + expected.remaining() + ", CRC " + actual.checksum() + ")");
            }
        }

        /** The target's next batch in offset order, or null at its end. */
        RecordBatch nextTarget() {
            while (ahead.isEmpty() && !exhausted) {
                if (next >= target.logEndOffset()) {
                    exhausted = true;
                    break;
                }
                ReadResult read;
                try {
                    read = target.read(next, READ_BYTES, Isolation.HIGH_WATERMARK, true).join();
                } catch (CompletionException e) {
                    throw new MigrationException("reading the target at offset " + next + " failed: "
                            + e.getCause().getMessage(), e.getCause());
                }
                for (RecordBatch b : read.records().batches()) {
                    ahead.add(b);
                    next = b.lastOffset() + 1;
                }
                if (ahead.isEmpty()) {
                    exhausted = true; // only an offset gap is left
                }
            }
            return ahead.poll();
        }
    }
}
