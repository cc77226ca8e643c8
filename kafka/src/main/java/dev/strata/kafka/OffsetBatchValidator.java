package dev.strata.kafka;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Checks of batches whose offsets are already assigned ({@link KafkaPartitionLog#appendWithOffsets}),
 * as Kafka 4.3's {@code UnifiedLog.appendAsFollower} makes them in
 * {@code analyzeAndValidateRecords}: each whole batch's size field and magic (Kafka's batch
 * iterator), CRC ({@link MutableRecordBatch#ensureValid()}), offsets increasing from batch to batch;
 * a partial batch at the end is dropped, as Kafka trims it. No record is decompressed, no timestamp,
 * sequence or size limit is checked (a follower trusts its leader; Kafka passes
 * {@code ignoreRecordSize = true}).
 *
 * <p>This log's own refusals (module README, deliberate differences): magic 0/1, a batch whose
 * partition leader epoch is unset (Kafka's epoch cache throws later), a last offset below the base
 * offset, and a batch that overlaps the one before it (Kafka only requires the last offsets to
 * grow). Transactional batches and end-transaction markers (control batches) pass here; their
 * effect on the producer state is checked under the log's lock
 * ({@link ProducerStateTable#checkReplicated}).
 *
 * <p>Stateless; thread-safe.
 */
final class OffsetBatchValidator {

    private OffsetBatchValidator() {
    }

    /**
     * One whole batch of the call and the exact view of its bytes that will be stored.
     *
     * @param batch the batch (its offsets, timestamps and producer fields are stored as they are)
     * @param bytes exactly the batch's bytes
     */
    record Checked(MutableRecordBatch batch, ByteBuffer bytes) {
        /** The number of offsets the batch spans (more than its records after compaction). */
        int offsetSpan() {
            return Math.toIntExact(batch.lastOffset() - batch.baseOffset() + 1);
        }
    }

    /**
     * @return the whole batches of {@code records} in order (empty if there is none)
     * @throws KafkaLogException ({@link CorruptBatchException}, {@link InvalidBatchException} or
     *     {@link UnexpectedAppendOffsetException}) naming the first batch at fault
     */
    static List<Checked> validate(MemoryRecords records) {
        List<Checked> out = new ArrayList<>();
        ByteBuffer all = records.buffer();
        int position = all.position();
        try {
            for (MutableRecordBatch batch : records.batches()) {
                check(batch, out.isEmpty() ? null : out.get(out.size() - 1).batch());
                int size = batch.sizeInBytes();
                out.add(new Checked(batch, all.duplicate().position(position).limit(position + size).slice()));
                position += size;
            }
        } catch (CorruptRecordException e) {
            throw new CorruptBatchException("corrupt batch at byte " + position + ": " + e.getMessage(), e);
        } catch (KafkaException e) {
            throw new CorruptBatchException("batch at byte " + position + " cannot be decoded: " + e.getMessage(), e);
        }
        return out;
    }

    private static void check(MutableRecordBatch batch, RecordBatch previous) {
        if (batch.magic() != RecordBatch.MAGIC_VALUE_V2) {
            throw new InvalidBatchException("only magic 2 batches can be appended with their offsets: magic=" + batch.magic()
                    + " baseOffset=" + batch.baseOffset());
        }
        batch.ensureValid();
        if (batch.lastOffset() < batch.baseOffset() || batch.lastOffset() - batch.baseOffset() >= Integer.MAX_VALUE) {
            throw new InvalidBatchException("batch has an invalid offset range: baseOffset=" + batch.baseOffset()
                    + " lastOffset=" + batch.lastOffset());
        }
        if (previous != null && batch.baseOffset() <= previous.lastOffset()) {
            throw new UnexpectedAppendOffsetException("batches of one call must follow each other", batch.baseOffset(),
                    batch.lastOffset(), previous.lastOffset() + 1);
        }
        if (batch.partitionLeaderEpoch() < 0) {
            throw new InvalidBatchException("batch without a partition leader epoch: baseOffset=" + batch.baseOffset()
                    + " partitionLeaderEpoch=" + batch.partitionLeaderEpoch());
        }
    }
}
