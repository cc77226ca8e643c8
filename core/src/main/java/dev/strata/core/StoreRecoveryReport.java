package dev.strata.core;

import dev.strata.wal.api.RecoveryReport;
import java.util.Map;

/**
 * What opening the store replayed from the WAL, per stream and in total, and what it skipped.
 *
 * @param wal the WAL scan: positions, bytes, torn bytes and why the scan ended
 * @param streams per stream: records and payload-carrying bytes replayed into the cache
 * @param recordsReplayed WAL records replayed (acknowledged data not yet in objects)
 * @param bytesReplayed their encoded bytes
 * @param recordsAlreadyCommitted records skipped because objects already hold them
 * @param recordsOfDeletedStreams records skipped because their stream was deleted
 * @param recordsNotAcknowledged records skipped because an earlier append of their stream failed
 *     (they were never acknowledged: keeping them would leave a hole)
 * @param recordsOfFencedWriters records skipped because a newer epoch took their stream over before
 *     them (they were written by a holder that had lost the stream and must not become visible)
 * @param durationNanos time from opening the WAL to serving
 * @param lostOffsets acknowledged offsets the WAL lost to damage inside the log
 *     ({@link RecoveryReport#lostRegions()}), per stream where a later record of the stream shows the
 *     gap; a stream whose lost records were its last ones in the WAL shows no gap and is not listed
 * @param recordsAfterLostData records skipped because they lie after a gap of lost acknowledged
 *     offsets in their stream (only when the store was opened with
 *     {@link Strata.Builder#openDespiteLostWalData})
 */
public record StoreRecoveryReport(RecoveryReport wal, Map<Long, StreamReplay> streams, long recordsReplayed,
        long bytesReplayed, long recordsAlreadyCommitted, long recordsOfDeletedStreams, long recordsNotAcknowledged,
        long recordsOfFencedWriters, long durationNanos, java.util.List<LostOffsets> lostOffsets,
        long recordsAfterLostData) {

    /** One stream's replay: records and bytes, and the offsets they cover. */
    public record StreamReplay(long records, long bytes, long startOffset, long endOffset) {
    }

    /**
     * Acknowledged offsets {@code [fromOffset, toOffset)} of {@code streamId} lost with the WAL region
     * starting at {@code walPosition}.
     */
    public record LostOffsets(long streamId, long fromOffset, long toOffset, long walPosition) {
    }

    public StoreRecoveryReport {
        streams = Map.copyOf(streams);
        lostOffsets = java.util.List.copyOf(lostOffsets);
    }

    /** This report with another duration. */
    StoreRecoveryReport withDuration(long nanos) {
        return new StoreRecoveryReport(wal, streams, recordsReplayed, bytesReplayed, recordsAlreadyCommitted,
                recordsOfDeletedStreams, recordsNotAcknowledged, recordsOfFencedWriters, nanos, lostOffsets,
                recordsAfterLostData);
    }

    /** One line for the log. */
    public String summary() {
        return "recovery: replayed " + recordsReplayed + " records (" + bytesReplayed + " bytes) of " + streams.size()
                + " streams in " + durationNanos / 1_000_000 + " ms; skipped committed=" + recordsAlreadyCommitted
                + " deleted=" + recordsOfDeletedStreams + " unacknowledged=" + recordsNotAcknowledged
                + " fenced=" + recordsOfFencedWriters
                + "; WAL scan " + wal.startPosition() + ".." + wal.endPosition() + " stopped: " + wal.stopReason()
                + " tornBytes=" + wal.tornBytes()
                + (wal.acknowledgedDataLost() ? "; ACKNOWLEDGED DATA LOST: walRegions=" + wal.lostRegions().size()
                        + " walBytes=" + wal.lostBytes() + " streamGaps=" + lostOffsets + " recordsAfterLostData="
                        + recordsAfterLostData : "");
    }
}
