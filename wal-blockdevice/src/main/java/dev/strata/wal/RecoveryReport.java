package dev.strata.wal;

/**
 * What a recovery scan found. Immutable.
 *
 * @param startPosition trim point the scan started at
 * @param endPosition position after the last recovered record: where new records go
 * @param records data records recovered
 * @param bodyBytes sum of their body lengths
 * @param paddingBytes bytes skipped as block padding or end-of-ring padding
 * @param tornBytes bytes at {@code endPosition} that looked like a record but failed a check
 *     (a torn or corrupt write): the claimed record length for a body CRC mismatch, else the bytes
 *     up to the next block boundary; 0 when the scan ended at clean free space
 * @param stopReason why the scan ended
 * @param detail human-readable detail of the stop (stored and computed CRC, positions)
 * @param generation generation of the header found (0 for a new WAL)
 * @param nodeEpoch node epoch stored in the header found
 */
public record RecoveryReport(long startPosition, long endPosition, long records, long bodyBytes, long paddingBytes,
        long tornBytes, StopReason stopReason, String detail, long generation, long nodeEpoch) {

    /** Why a recovery scan stopped where it did. */
    public enum StopReason {
        /** Zeros or no record magic: the clean end of the log. */
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
        /** The scan reached a full ring's worth of data past the trim point. */
        CAPACITY_REACHED
    }
}
