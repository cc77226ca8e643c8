package dev.strata.kafka;

import java.util.Iterator;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * End-transaction markers (COMMIT / ABORT control batches) built and read with Kafka's own classes,
 * as a transaction coordinator writes them ({@link MemoryRecords#withEndTransactionMarker}).
 *
 * <p>Stateless; thread-safe.
 */
final class TxnMarkers {

    private TxnMarkers() {
    }

    /**
     * What a marker says.
     *
     * @param timestamp its control record's timestamp (the log append time under LogAppendTime), as
     *     Kafka's {@code ProducerAppendInfo} takes it for the producer's last timestamp
     */
    record Marker(boolean commit, int coordinatorEpoch, long timestamp) {
    }

    /** A marker batch at offset 0, as the coordinator sends it in WriteTxnMarkers. */
    static MemoryRecords build(long timestamp, long producerId, short producerEpoch, int coordinatorEpoch, boolean commit) {
        return MemoryRecords.withEndTransactionMarker(timestamp, producerId, producerEpoch,
                new EndTransactionMarker(commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT, coordinatorEpoch));
    }

    /**
     * Reads a stored control batch.
     *
     * @return the marker, or {@code null} if the batch holds no record or is not an end-transaction marker
     */
    static Marker read(RecordBatch controlBatch) {
        Iterator<Record> records = controlBatch.iterator();
        if (!records.hasNext()) {
            return null; // Kafka: an empty control batch (its transaction was cleaned away) changes nothing
        }
        Record record = records.next();
        ControlRecordType type = ControlRecordType.parse(record.key());
        if (type != ControlRecordType.COMMIT && type != ControlRecordType.ABORT) {
            return null;
        }
        EndTransactionMarker marker = EndTransactionMarker.deserialize(record);
        return new Marker(type == ControlRecordType.COMMIT, marker.coordinatorEpoch(), record.timestamp());
    }
}
