package dev.strata.objectstore.format;

/**
 * Layout of the object index: {@code entryCount} fixed-size entries, one per data block, sorted by
 * (streamId, startOffset) so a reader finds the block holding an offset by binary search.
 *
 * <pre>
 *  0                8                16               24               32       36       40
 *  +----------------+----------------+----------------+----------------+--------+--------+
 *  | streamId (i64) | startOffset    | endOffset      | position (i64) | size   | records|
 *  +----------------+----------------+----------------+----------------+--------+--------+
 *  streamId    i64  the block's stream
 *  startOffset i64  base offset of the block's first batch
 *  endOffset   i64  exclusive end: next offset after its last record
 *  position    i64  first byte of the block in the object
 *  size        i32  block length in bytes, header included
 *  records     i32  records in the block (= endOffset - startOffset for contiguous batches)
 * </pre>
 * Big-endian. The index has no header of its own: the footer gives its position, length, entry
 * count and CRC. Invariants a reader checks (else CorruptDataException): entries sorted by
 * (streamId, startOffset); ranges of one stream do not overlap; startOffset &lt; endOffset and
 * records = endOffset - startOffset; every block lies within [0, indexPosition) and is at least a
 * block header long.
 */
public final class ObjectIndexDescriptor {

    /** Offset of the stream id within an entry. */
    public static final int STREAM_ID_OFFSET = 0;
    /** Offset of the start offset. */
    public static final int START_OFFSET_OFFSET = STREAM_ID_OFFSET + Long.BYTES;
    /** Offset of the end offset. */
    public static final int END_OFFSET_OFFSET = START_OFFSET_OFFSET + Long.BYTES;
    /** Offset of the block position. */
    public static final int POSITION_OFFSET = END_OFFSET_OFFSET + Long.BYTES;
    /** Offset of the block size. */
    public static final int SIZE_OFFSET = POSITION_OFFSET + Long.BYTES;
    /** Offset of the record count. */
    public static final int RECORD_COUNT_OFFSET = SIZE_OFFSET + Integer.BYTES;
    /** Size of one entry. */
    public static final int ENTRY_SIZE = RECORD_COUNT_OFFSET + Integer.BYTES;

    private ObjectIndexDescriptor() {
    }
}
