package dev.strata.wal.api;

import java.util.List;

/**
 * What a WAL's recovery scan found: the part every implementation reports, and all the engine reads.
 * Implementation details (a block-device WAL's padding and header generation, an object-store WAL's
 * object names) are in that implementation's own logs and tools. Immutable.
 *
 * <p>Two kinds of holes are told apart: a <em>torn tail</em> (writes in flight at a crash: nothing
 * after it was acknowledged) ends the scan at {@code endPosition} and is counted in
 * {@code tornBytes}; <em>damage inside the log</em> (bytes that had been durable and acknowledged,
 * later lost or corrupted) is listed in {@code lostRegions}, the scan continues after it, and
 * {@code stopReason} is then {@link StopReason#ACKNOWLEDGED_DATA_LOST}, whatever ended the scan
 * ({@code endReason}), so a report with lost data can never read as a clean end.
 *
 * <p>The canonical constructor throws {@link IllegalArgumentException} if {@code endReason} is
 * {@link StopReason#ACKNOWLEDGED_DATA_LOST} or {@code stopReason} does not follow from
 * {@code endReason} and {@code lostRegions} as described.
 *
 * @param startPosition trim point the scan started at
 * @param endPosition position after the last recovered record: where new records go
 * @param records data records recovered (including those after a lost region)
 * @param bodyBytes sum of their body lengths
 * @param tornBytes bytes at {@code endPosition} that cannot continue the log (a torn or corrupt write
 *     never acknowledged, how far the implementation can tell); 0 when the scan ended at a clean end
 * @param stopReason {@link StopReason#ACKNOWLEDGED_DATA_LOST} if {@code lostRegions} is not empty,
 *     else {@code endReason}
 * @param endReason why the scan ended at {@code endPosition}; never
 *     {@link StopReason#ACKNOWLEDGED_DATA_LOST}
 * @param detail human-readable detail: the lost regions, then why the scan ended (stored and
 *     computed CRC, positions)
 * @param nodeEpoch node epoch of the owner that wrote the log as found (0 for a new WAL)
 * @param lostRegions regions that had been durable and acknowledged but no longer hold intact
 *     records, in log order; the records that were in them are not returned. Empty when nothing
 *     acknowledged was found lost
 */
public record RecoveryReport(long startPosition, long endPosition, long records, long bodyBytes, long tornBytes,
        StopReason stopReason, StopReason endReason, String detail, long nodeEpoch, List<LostRegion> lostRegions) {

    public RecoveryReport {
        lostRegions = List.copyOf(lostRegions);
        if (endReason == StopReason.ACKNOWLEDGED_DATA_LOST) {
            throw new IllegalArgumentException("endReason must say why the scan ended: endReason=" + endReason);
        }
        StopReason expected = lostRegions.isEmpty() ? endReason : StopReason.ACKNOWLEDGED_DATA_LOST;
        if (stopReason != expected) {
            throw new IllegalArgumentException("stopReason must be " + expected + ": stopReason=" + stopReason
                    + " endReason=" + endReason + " lostRegions=" + lostRegions.size());
        }
    }

    /** Whether acknowledged data was found lost (then {@link #lostRegions()} says where). */
    public boolean acknowledgedDataLost() {
        return !lostRegions.isEmpty();
    }

    /** Sum of the lost regions' bytes (log bytes, padding included). */
    public long lostBytes() {
        long sum = 0;
        for (LostRegion r : lostRegions) {
            sum += r.bytes();
        }
        return sum;
    }

    /**
     * A region of the log, {@code [position, endPosition)}, that had been durable and acknowledged
     * (a later record's durable mark proves it) but no longer holds intact records: a lost write or
     * media corruption after the acknowledgement. The acknowledged records that were in it are lost.
     *
     * <p>If {@code endPosition <= } the report's {@code endPosition}, the scan resumed at
     * {@code endPosition} and returned the intact records after it. Otherwise the region starts at
     * the report's {@code endPosition} and only {@code [position, endPosition)} was proven durable;
     * what followed could not be told from a torn tail, so the scan ended at {@code position}.
     *
     * @param position where the record chain broke: the first lost byte
     * @param endPosition where the first intact record after the damage starts, or (when the scan
     *     ended at the region) how far the bytes were proven durable
     * @param found what the scan found at {@code position}: {@link StopReason#END_OF_LOG} means
     *     zeros or no record where a record had been written, the other reasons as for the end
     * @param detail human-readable detail (stored and computed CRC, positions, the proving record)
     */
    public record LostRegion(long position, long endPosition, StopReason found, String detail) {

        /** Bytes of the log in the region. */
        public long bytes() {
            return endPosition - position;
        }
    }

    /**
     * Why a recovery scan stopped where it did. The reasons name what a log of checksummed records
     * can find; an implementation reports those its format can meet (a block-device WAL all of them;
     * a log of objects has no ring, so never {@link #CAPACITY_REACHED}).
     */
    public enum StopReason {
        /** No further record (zeros, no record magic, no next object), and no intact record of this log after it: the clean end of the log. */
        END_OF_LOG,
        /** The header CRC did not match: a torn or corrupt header. */
        HEADER_CRC_MISMATCH,
        /** The stamped position differs from where the record was read: data of an earlier lap. */
        POSITION_MISMATCH,
        /** Intact record of an older generation past the start of a newer one: cut off earlier. */
        STALE_GENERATION,
        /** Impossible length or flags in a header whose CRC matched. */
        INVALID_HEADER,
        /** The body CRC did not match: a torn or corrupt body. */
        BODY_CRC_MISMATCH,
        /** The scan reached a full ring's worth of data past the trim point (a ring-shaped log only). */
        CAPACITY_REACHED,
        /**
         * Zeros (or no record) where the chain continues, but intact records of this log follow:
         * a write in flight at a crash never became durable while a later one did (a torn
         * tail). Nothing after it was acknowledged; {@code tornBytes} counts up to the first
         * intact record after it.
         */
        UNFINISHED_WRITE,
        /**
         * Acknowledged data was lost inside the log (see {@link RecoveryReport#lostRegions()});
         * the scan continued after it, and {@link RecoveryReport#endReason()} says why it ended.
         * Never a clean end.
         */
        ACKNOWLEDGED_DATA_LOST
    }
}
