package dev.strata.wal.objectstore;

/**
 * The decoded header of one WAL object (see {@link WalObjectDescriptor} for the layout). Immutable.
 *
 * @param fence whether this is a fence object (an opener's, without records)
 * @param nodeEpoch epoch of the writer
 * @param writerId random identity of the writing instance
 * @param sequence the object's sequence number
 * @param basePosition log position of the body's first byte
 * @param trimSequence lowest sequence still needed when the object was sealed
 * @param trimPosition lowest log position still needed when the object was sealed
 * @param recordCount records in the body
 * @param bodyLength bytes of the body
 * @param bodyCrc CRC32C of the body
 */
record WalObjectHeader(boolean fence, long nodeEpoch, long writerId, long sequence, long basePosition,
        long trimSequence, long trimPosition, int recordCount, int bodyLength, int bodyCrc) {

    /** Log position after the body: where the next object's body starts. */
    long endPosition() {
        return basePosition + bodyLength;
    }

    /** Sum of the record bodies' lengths (the body less the record frames). */
    long recordBodyBytes() {
        return bodyLength - (long) recordCount * WalObjectDescriptor.RECORD_FRAME_BYTES;
    }
}
