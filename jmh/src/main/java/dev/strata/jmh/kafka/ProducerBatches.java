package dev.strata.jmh.kafka;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.Record;

/**
 * The batch a plain (non-idempotent, non-transactional) Kafka producer sends with
 * {@code batch.size} bytes of {@code recordBytes}-byte values and no compression, built once with
 * Kafka's own {@link MemoryRecordsBuilder} exactly as the producer's accumulator fills a batch
 * (records are added while {@code hasRoomFor}). Every append gets a fresh copy, because both logs
 * stamp offsets into the bytes in place. Not thread-safe to build; {@link #copy()} is thread-safe.
 */
final class ProducerBatches {
    private final ByteBuffer template;
    private final int records;

    ProducerBatches(int batchSize, int recordBytes, long timestampMs) {
        MemoryRecordsBuilder builder = MemoryRecords.builder(ByteBuffer.allocate(batchSize), Compression.NONE,
                TimestampType.CREATE_TIME, 0L, batchSize);
        SplittableRandom random = new SplittableRandom(20);
        int n = 0;
        while (true) {
            byte[] value = new byte[recordBytes];
            random.nextBytes(value); // incompressible, as a real payload may be; nothing compresses anyway
            if (n > 0 && !builder.hasRoomFor(timestampMs, (byte[]) null, value, Record.EMPTY_HEADERS)) {
                break;
            }
            builder.append(timestampMs, (byte[]) null, value);
            n++;
        }
        MemoryRecords built = builder.build();
        this.records = n;
        this.template = built.buffer().asReadOnlyBuffer();
    }

    /** Records per batch. */
    int records() {
        return records;
    }

    /** Bytes per batch (the whole v2 batch with its header). */
    int bytes() {
        return template.remaining();
    }

    /** A fresh, writable copy of the batch. */
    MemoryRecords copy() {
        ByteBuffer copy = ByteBuffer.allocate(template.remaining());
        copy.put(template.duplicate()).flip();
        return MemoryRecords.readableRecords(copy);
    }
}
