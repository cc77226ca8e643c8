package dev.strata.core.metadata;

import dev.strata.api.CorruptDataException;

/**
 * Layout of a manifest file: one log entry (a {@link MetadataChange}) or one snapshot (a whole
 * {@link MetadataState}), each stored as one object. Big-endian.
 *
 * <pre>
 *  0        4      6      7      8                16       20       24       28
 *  +--------+------+------+------+----------------+--------+--------+--------+-----------------+
 *  | magic  | fmt  | kind | rsvd | version (i64)  | bodyLen| bodyCrc| hdrCrc | body (bodyLen) ...
 *  +--------+------+------+------+----------------+--------+--------+--------+-----------------+
 * </pre>
 * <ul>
 *   <li>{@code magic} = {@link #MAGIC} ("SMAN"); {@code fmt} = {@link #FORMAT_VERSION}: a reader
 *       refuses a format it does not know rather than guess.</li>
 *   <li>{@code kind}: {@link #KIND_LOG} or {@link #KIND_SNAPSHOT}; {@code version}: the metadata
 *       version the file holds (a log entry's change makes that version; a snapshot is the state at
 *       it). The version is also in the object key; both must agree.</li>
 *   <li>{@code bodyCrc} is CRC32C of the body; {@code hdrCrc} is CRC32C of bytes [0, 24).</li>
 * </ul>
 * Log body: writer id (i64), writer sequence (i64), change count (i32), then each change: its
 * type (u8) and fields. An entry holds one change of any kind, or any number of stream changes
 * (create, open, trim, delete) group-committed together; they apply in order, all or none, and
 * make one version.
 * Snapshot body: node epoch, next stream id, WAL trim position (i64 each), stream count (i32) and
 * streams (id, epoch, start offset, committed end offset, epoch start offset: i64 each), object count (i32) and objects
 * (key length u16 + UTF-8 key, size i64, type u8, data time i64 (epoch ms), range count i32,
 * ranges of (stream id, start, end, size): i64 each). Keys in log bodies (replaced objects, orphans)
 * are u16 length + UTF-8. Format 4 adds stream labels (tenant and tags) and is written <b>only for a
 * file that holds some</b>: a log entry with a {@link #CHANGE_CREATE_LABELED_STREAM} (create's
 * fields, then the labels), a snapshot in which some stream has labels (each stream's five i64 are
 * then followed by its labels). Labels: tenant (u16 length + UTF-8, length 0 = none), tag count
 * (u8), tags (key, value: u16 length + UTF-8 each). A store whose streams carry no labels keeps
 * writing format 3, so a build that reads only 3 can still open it (rollback). Format 5 adds the
 * offset from which a stream is encrypted (client-side encryption) and is likewise written <b>only
 * for a file that holds some</b>: a log entry with a {@link #CHANGE_CREATE_ENCRYPTED_STREAM} (the
 * labeled create's fields; the stream is encrypted from offset 0) or a
 * {@link #CHANGE_OPEN_ENCRYPTING_STREAM} (open's fields, then the offset from which the opener
 * encrypts, i64), a snapshot in which some stream is encrypted (each stream's five i64 are then
 * followed by its labels and its encrypted-from offset, i64, -1 for none); it is also written for a
 * log entry that commits or adds objects naming data keys (their encrypted batches' DEK ids) and
 * for a snapshot with such an object. In a format 5 file every object's ranges are followed by its
 * data key ids: count (i32, 0 = none, -1 = unknown), ids (i64 each, ascending). Format 3 added the change count (group commit); format 2 files (one
 * change per log entry, no count; the same snapshot body) are still read. Format 2 added the data
 * time, range sizes and the replace/orphan changes; format 1 files are refused.
 */
final class ManifestDescriptor {
    /** "SMAN". */
    static final int MAGIC = 0x534D414E;
    static final short FORMAT_VERSION = 3;
    /** The format of files that hold stream labels (tenant, tags); written only for those. */
    static final short FORMAT_LABELS = 4;
    /** The format of files that hold encrypted streams' encrypted-from offsets; written only for those. */
    static final short FORMAT_ENCRYPTION = 5;
    /** The previous format, still read: a log entry holds exactly one change and no count. */
    static final short FORMAT_SINGLE_CHANGE_LOG = 2;
    static final byte KIND_LOG = 1;
    static final byte KIND_SNAPSHOT = 2;

    static final int MAGIC_OFFSET = 0;
    static final int FORMAT_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    static final int KIND_OFFSET = FORMAT_OFFSET + Short.BYTES;
    static final int RESERVED_OFFSET = KIND_OFFSET + Byte.BYTES;
    static final int VERSION_OFFSET = RESERVED_OFFSET + Byte.BYTES;
    static final int BODY_LENGTH_OFFSET = VERSION_OFFSET + Long.BYTES;
    static final int BODY_CRC_OFFSET = BODY_LENGTH_OFFSET + Integer.BYTES;
    static final int HEADER_CRC_OFFSET = BODY_CRC_OFFSET + Integer.BYTES;
    static final int HEADER_LENGTH = HEADER_CRC_OFFSET + Integer.BYTES;

    /** Largest body a reader accepts: a bound against corrupt lengths (64 MiB). */
    static final int MAX_BODY_LENGTH = 64 << 20;

    /** Change type tags in a log body. */
    static final byte CHANGE_REGISTER_NODE = 1;
    static final byte CHANGE_CREATE_STREAM = 2;
    static final byte CHANGE_OPEN_STREAM = 3;
    static final byte CHANGE_TRIM_STREAM = 4;
    static final byte CHANGE_DELETE_STREAM = 5;
    static final byte CHANGE_COMMIT_OBJECTS = 6;
    static final byte CHANGE_REPLACE_OBJECTS = 7;
    static final byte CHANGE_DELETE_ORPHANS = 8;
    /** A create with labels (format 4 only). */
    static final byte CHANGE_CREATE_LABELED_STREAM = 9;
    /** A create of an encrypted stream: the labeled create's fields (format 5 only). */
    static final byte CHANGE_CREATE_ENCRYPTED_STREAM = 10;
    /** An open by a store that encrypts the stream: open's fields, then the encrypt-from offset (format 5 only). */
    static final byte CHANGE_OPEN_ENCRYPTING_STREAM = 11;

    private ManifestDescriptor() {
    }

    static void check(boolean ok, String key, String what) {
        if (!ok) {
            throw new CorruptDataException("corrupt manifest file: key=" + key + " " + what);
        }
    }
}
