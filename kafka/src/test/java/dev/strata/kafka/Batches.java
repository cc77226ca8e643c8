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
}
