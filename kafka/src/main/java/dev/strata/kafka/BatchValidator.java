package dev.strata.kafka;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.requests.ProduceRequest;
import org.apache.kafka.common.requests.ProduceResponse.RecordError;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.CloseableIterator;

/**
 * Leader-side checks of one produced batch, in the order a Kafka 4.3 broker makes them, with
 * Kafka's own record classes (no parsing of the batch format here):
 * <ol>
 *   <li>{@link ProduceRequest#validateRecords}: at least one batch, magic 2, exactly one batch
 *       (what the broker checks when it parses a Produce request);</li>
 *   <li>{@code UnifiedLog.analyzeAndValidateRecords}: base offset 0, size within
 *       {@code maxMessageBytes}, CRC ({@link MutableRecordBatch#ensureValid()});</li>
 *   <li>{@code LogValidator.validateBatch}: offsets and record count agree, no control batch, a
 *       sequence with every producer id;</li>
 *   <li>{@code LogValidator.validateRecord} for each record (decompressing if needed): the timestamp
 *       bounds with CreateTime, no producer-set LogAppendTime.</li>
 * </ol>
 * One refusal is this log's own (see the module README): compressed batches whose inner offsets
 * are not 0..n-1 (Kafka re-compresses those; no Kafka 0.11+ client writes them).
 *
 * <p>Stateless; thread-safe.
 */
final class BatchValidator {

    /** The Produce version whose rules apply: the newest this kafka-clients knows. */
    private static final short PRODUCE_VERSION = ApiKeys.PRODUCE.latestVersion();

    private BatchValidator() {
    }

    /**
     * A batch that passed every check, and the view of its bytes that will be stored.
     *
     * @param batch the batch, backed by the caller's buffer (stamping it changes those bytes)
     * @param bytes exactly the batch's bytes (trailing bytes after it are dropped, as Kafka does)
     * @param count its number of records
     * @param maxTimestamp the largest record timestamp, or {@code -1} if none
     */
    record Validated(MutableRecordBatch batch, ByteBuffer bytes, int count, long maxTimestamp) {
    }

    /**
     * @throws KafkaLogException (a subclass) naming the first rule the batch breaks
     */
    static Validated validate(MemoryRecords records, PartitionLogConfig config, long nowMs) {
        try {
            return check(records, config, nowMs);
        } catch (CorruptRecordException e) {
            throw new CorruptBatchException("corrupt batch: " + e.getMessage(), e);
        } catch (InvalidRecordException e) {
            throw new InvalidBatchException("invalid batch: " + e.getMessage(), List.of(), e);
        } catch (KafkaException e) {
            // e.g. a compressed payload that does not decompress: damaged bytes under a valid CRC
            throw new CorruptBatchException("batch cannot be decoded: " + e.getMessage(), e);
        }
    }

    private static Validated check(MemoryRecords records, PartitionLogConfig config, long nowMs) {
        ProduceRequest.validateRecords(PRODUCE_VERSION, records);
        MutableRecordBatch batch = records.batches().iterator().next();

        if (batch.baseOffset() != 0) {
            throw new InvalidBatchException("the base offset of a produced batch must be 0: baseOffset=" + batch.baseOffset());
        }
        int size = batch.sizeInBytes();
        if (size > config.maxMessageBytes()) {
            throw new BatchTooLargeException("batch exceeds maxMessageBytes", size, config.maxMessageBytes(), null);
        }
        batch.ensureValid();

        long countFromOffsets = batch.lastOffset() - batch.baseOffset() + 1;
        Integer declared = batch.countOrNull();
        if (countFromOffsets <= 0) {
            throw new InvalidBatchException("batch has an invalid offset range: baseOffset=" + batch.baseOffset()
                    + " lastOffset=" + batch.lastOffset());
        }
        if (declared == null || declared <= 0) {
            throw new InvalidBatchException("invalid record count in batch: count=" + declared);
        }
        if (countFromOffsets != declared) {
            throw new InvalidBatchException("batch offsets and record count disagree: baseOffset=" + batch.baseOffset()
                    + " lastOffset=" + batch.lastOffset() + " count=" + declared);
        }
        if (batch.isControlBatch()) {
            throw new InvalidBatchException("clients may not write control batches");
        }
        if (batch.hasProducerId() && batch.baseSequence() < 0) {
            throw new InvalidBatchException("invalid sequence in batch: producerId=" + batch.producerId()
                    + " baseSequence=" + batch.baseSequence());
        }

        int count = 0;
        long maxTimestamp = RecordBatch.NO_TIMESTAMP;
        List<RecordError> timestampErrors = new ArrayList<>(0);
        boolean consecutive = true;
        // Compressed: Kafka's in-place path iterates without materialising keys and values.
        try (CloseableIterator<Record> it = batch.isCompressed()
                ? batch.skipKeyValueIterator(BufferSupplier.NO_CACHING)
                : CloseableIterator.wrap(batch.iterator())) {
            while (it.hasNext()) {
                Record record = it.next();
                String error = timestampError(batch, record, config, nowMs);
                if (error != null) {
                    timestampErrors.add(new RecordError(count, error));
                } else {
                    maxTimestamp = Math.max(maxTimestamp, record.timestamp());
                    consecutive &= record.offset() == count;
                }
                count++;
            }
        }
        if (!timestampErrors.isEmpty()) {
            throw new InvalidBatchTimestampException("one or more records have been rejected due to invalid timestamp: "
                    + timestampErrors.get(0).message, timestampErrors);
        }
        if (count != declared) {
            throw new InvalidBatchException("batch holds a different number of records than it declares: declared="
                    + declared + " found=" + count);
        }
        if (batch.isCompressed() && !consecutive) {
            throw new InvalidBatchException("compressed batch with inner offsets other than 0..count-1 (Kafka would"
                    + " re-compress it; this log stores batches as produced): count=" + count);
        }
        ByteBuffer bytes = records.buffer();
        bytes.limit(bytes.position() + size);
        return new Validated(batch, bytes.slice(), count, maxTimestamp);
    }

    /** {@code LogValidator.validateTimestamp}: the message for a refused record, or null. */
    private static String timestampError(RecordBatch batch, Record record, PartitionLogConfig config, long nowMs) {
        if (config.timestampType() == TimestampType.CREATE_TIME && record.timestamp() != RecordBatch.NO_TIMESTAMP) {
            long diff = nowMs - record.timestamp();
            if (diff > config.messageTimestampBeforeMaxMs() || -diff > config.messageTimestampAfterMaxMs()) {
                return "timestamp " + record.timestamp() + " of record " + record.offset() + " is out of range: now="
                        + nowMs + " messageTimestampBeforeMaxMs=" + config.messageTimestampBeforeMaxMs()
                        + " messageTimestampAfterMaxMs=" + config.messageTimestampAfterMaxMs();
            }
        } else if (batch.timestampType() == TimestampType.LOG_APPEND_TIME) {
            return "producers must not set the LogAppendTime timestamp type: record=" + record.offset();
        }
        return null;
    }

    /**
     * Assigns offsets from {@code baseOffset}, the timestamp and the leader epoch, in place, as
     * {@code LogValidator.assignOffsetsNonCompressed} / the in-place compressed path do. The CRC
     * covers only the timestamp change; {@link MutableRecordBatch#setMaxTimestamp} recomputes it.
     *
     * @return the log append time stamped, or {@code -1} with CreateTime
     */
    static long stamp(Validated v, long baseOffset, int leaderEpoch, PartitionLogConfig config, long nowMs) {
        MutableRecordBatch batch = v.batch();
        batch.setLastOffset(baseOffset + v.count() - 1);
        batch.setPartitionLeaderEpoch(leaderEpoch);
        if (config.timestampType() == TimestampType.LOG_APPEND_TIME) {
            batch.setMaxTimestamp(TimestampType.LOG_APPEND_TIME, nowMs);
            return nowMs;
        }
        batch.setMaxTimestamp(TimestampType.CREATE_TIME, v.maxTimestamp());
        return RecordBatch.NO_TIMESTAMP;
    }
}
