package dev.strata.kafka;

import dev.strata.api.FetchedBatch;
import java.nio.ByteBuffer;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.DefaultRecordBatch;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * How the data stream represents a forward gap in Kafka offsets (a batch given to
 * {@link KafkaPartitionLog#appendWithOffsets} that starts above the log end offset, as after Kafka's
 * compaction or a mirror's trimmed source): Strata streams assign offsets contiguously, so the gap
 * {@code [end, base)} is taken by <b>filler batches</b>. A filler is a Kafka v2 batch header without
 * records, written by Kafka's own {@link DefaultRecordBatch#writeEmptyHeader}, spanning the gap's
 * offsets: no producer id, no partition leader epoch, no timestamp, not transactional. So every
 * reader of stored batches that uses Kafka's classes sees a valid batch with nothing in it; the
 * log's reads leave fillers out (Kafka's read of a gap returns the next batch), recovery ignores them
 * (no epoch, no producer). A stream batch spans at most {@link Integer#MAX_VALUE} offsets, so a
 * larger gap takes several fillers.
 *
 * <p>Any stored batch of exactly {@link DefaultRecordBatch#RECORD_BATCH_OVERHEAD} bytes (no records)
 * without a producer id is treated as a filler. Kafka writes no such batch (compaction keeps an
 * empty batch only for its producer id), so none coming from Kafka is hidden.
 *
 * <p>Stateless; thread-safe.
 */
final class GapFiller {

    private GapFiller() {
    }

    /** The largest number of offsets one filler (one stream batch) spans. */
    static final long MAX_SPAN = Integer.MAX_VALUE;

    /** The filler spanning {@code [baseOffset, lastOffset]}, at most {@link #MAX_SPAN} offsets. */
    static ByteBuffer filler(long baseOffset, long lastOffset) {
        if (lastOffset < baseOffset || lastOffset - baseOffset >= MAX_SPAN) {
            throw new IllegalArgumentException("invalid filler: baseOffset=" + baseOffset + " lastOffset=" + lastOffset);
        }
        ByteBuffer b = ByteBuffer.allocate(DefaultRecordBatch.RECORD_BATCH_OVERHEAD);
        DefaultRecordBatch.writeEmptyHeader(b, RecordBatch.MAGIC_VALUE_V2, RecordBatch.NO_PRODUCER_ID,
                RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE, baseOffset, lastOffset,
                RecordBatch.NO_PARTITION_LEADER_EPOCH, TimestampType.CREATE_TIME, RecordBatch.NO_TIMESTAMP, false, false);
        return b.flip();
    }

    /** Whether a Kafka batch read back from the data stream is a filler (see the class comment). */
    static boolean isFiller(RecordBatch batch) {
        return batch.sizeInBytes() == DefaultRecordBatch.RECORD_BATCH_OVERHEAD && !batch.hasProducerId();
    }

    /** Whether a stored batch is a filler (see the class comment). */
    static boolean isFiller(FetchedBatch stored) {
        if (stored.sizeBytes() != DefaultRecordBatch.RECORD_BATCH_OVERHEAD) {
            return false; // the common case, decided without parsing
        }
        RecordBatch batch = MemoryRecords.readableRecords(stored.payload().slice()).firstBatch();
        return batch != null && isFiller(batch);
    }
}
