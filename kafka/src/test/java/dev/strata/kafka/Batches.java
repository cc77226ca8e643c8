package dev.strata.kafka;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;

/** Builds produced batches the way a Kafka client does (Kafka's own builder). */
final class Batches {
    private Batches() {
    }

    /** A plain-producer v2 batch of {@code count} records of {@code valueBytes} each, all at {@code timestamp}. */
    static MemoryRecords plain(Compression compression, int count, int valueBytes, long timestamp) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            byte[] value = new byte[valueBytes];
            Arrays.fill(value, (byte) (i + valueBytes));
            records[i] = new SimpleRecord(timestamp + i, ("k" + i).getBytes(), value);
        }
        return MemoryRecords.withRecords(compression, records);
    }

    /** An independent copy (appends stamp batches in place). */
    static MemoryRecords copy(MemoryRecords records) {
        ByteBuffer src = records.buffer();
        ByteBuffer dst = ByteBuffer.allocate(src.remaining());
        dst.put(src).flip();
        return MemoryRecords.readableRecords(dst);
    }

    static byte[] bytes(MemoryRecords records) {
        ByteBuffer b = records.buffer();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** Reads with {@code log.read} and returns a heap copy of the records; the read result is closed. */
    static MemoryRecords read(KafkaPartitionLog log, long offset, int maxBytes, Isolation isolation, boolean minOneMessage) {
        try (ReadResult r = log.read(offset, maxBytes, isolation, minOneMessage).join()) {
            return copy(r.records());
        }
    }

    /**
     * The same answer with the records copied to the heap and nothing to release, {@code read} closed:
     * for tests that inspect a result after other calls.
     */
    static ReadResult detach(ReadResult read) {
        try (read) {
            return new ReadResult(copy(read.records()), read.highWatermark(), read.lastStableOffset(), read.logStartOffset(),
                    read.abortedTransactions(), 0, null);
        }
    }
}
