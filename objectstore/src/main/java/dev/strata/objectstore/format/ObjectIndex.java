package dev.strata.objectstore.format;

import static dev.strata.objectstore.format.ObjectIndexDescriptor.ENTRY_SIZE;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The decoded index of one object ({@link ObjectIndexDescriptor}): its data blocks sorted by
 * (stream id, start offset). Blocks of one stream are consecutive entries, in offset order, so a
 * range read is {@link #findBlock} followed by walking forward while the entry is of the same
 * stream and starts before the end of the range.
 *
 * <p>Immutable and thread-safe; holds no buffers. Callers cache it per object (it is a few tens of
 * bytes per block).
 */
public final class ObjectIndex {
    private final List<IndexEntry> entries;

    ObjectIndex(List<IndexEntry> sortedEntries) {
        this.entries = Collections.unmodifiableList(new ArrayList<>(sortedEntries));
    }

    /**
     * Decodes and checks the index at absolute {@code index} of {@code buf}, as located by
     * {@code footer}.
     *
     * @throws CorruptDataException on a CRC mismatch or a broken invariant, naming key and position
     */
    static ObjectIndex decode(ByteBuf buf, int index, ObjectFooter footer, String key) {
        int stored = footer.indexCrc();
        int computed = Crc32c.compute(buf, index, footer.indexLength());
        if (stored != computed) {
            throw new CorruptDataException("object index CRC mismatch: object=" + key + " position="
                    + footer.indexPosition() + " stored=" + Integer.toHexString(stored) + " computed="
                    + Integer.toHexString(computed));
        }
        List<IndexEntry> list = new ArrayList<>(footer.entryCount());
        IndexEntry prev = null;
        for (int i = 0; i < footer.entryCount(); i++) {
            int at = index + i * ENTRY_SIZE;
            IndexEntry e = new IndexEntry(
                    buf.getLong(at + ObjectIndexDescriptor.STREAM_ID_OFFSET),
                    buf.getLong(at + ObjectIndexDescriptor.START_OFFSET_OFFSET),
                    buf.getLong(at + ObjectIndexDescriptor.END_OFFSET_OFFSET),
                    buf.getInt(at + ObjectIndexDescriptor.RECORD_COUNT_OFFSET),
                    buf.getLong(at + ObjectIndexDescriptor.POSITION_OFFSET),
                    buf.getInt(at + ObjectIndexDescriptor.SIZE_OFFSET));
            String bad = checkEntry(e, prev, footer.indexPosition());
            if (bad != null) {
                throw new CorruptDataException("object index entry invalid (" + bad + "): object=" + key
                        + " position=" + (footer.indexPosition() + (long) i * ENTRY_SIZE) + " entry=" + i + " " + e);
            }
            list.add(e);
            prev = e;
        }
        return new ObjectIndex(list);
    }

    private static String checkEntry(IndexEntry e, IndexEntry prev, long indexPosition) {
        if (e.startOffset() < 0 || e.endOffset() <= e.startOffset() || e.recordCount() < 1
                || e.endOffset() - e.startOffset() != e.recordCount()) {
            return "offsets";
        }
        if (e.position() < 0 || e.size() < DataBlockDescriptor.HEADER_SIZE || e.position() + e.size() > indexPosition) {
            return "block out of bounds";
        }
        if (prev != null && (e.streamId() < prev.streamId()
                || e.streamId() == prev.streamId() && e.startOffset() < prev.endOffset())) {
            return "not sorted or overlapping";
        }
        return null;
    }

    /** Writes the entries at {@code out}'s writer index. */
    void encodeTo(ByteBuf out) {
        for (IndexEntry e : entries) {
            out.writeLong(e.streamId());
            out.writeLong(e.startOffset());
            out.writeLong(e.endOffset());
            out.writeLong(e.position());
            out.writeInt(e.size());
            out.writeInt(e.recordCount());
        }
    }

    ByteBuf encode(ByteBufAllocator allocator) {
        ByteBuf out = allocator.directBuffer(Math.max(1, entries.size() * ENTRY_SIZE));
        encodeTo(out);
        return out;
    }

    /** Number of data blocks. */
    public int size() {
        return entries.size();
    }

    public IndexEntry entry(int block) {
        return entries.get(block);
    }

    /** All entries, sorted by (stream id, start offset); unmodifiable. */
    public List<IndexEntry> entries() {
        return entries;
    }

    /** Index of the block holding {@code offset} of {@code streamId}, or -1 if this object does not hold it. */
    public int findBlock(long streamId, long offset) {
        int lo = 0;
        int hi = entries.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            IndexEntry e = entries.get(mid);
            int cmp = e.streamId() != streamId ? Long.compare(e.streamId(), streamId)
                    : e.endOffset() <= offset ? -1 : e.startOffset() > offset ? 1 : 0;
            if (cmp < 0) {
                lo = mid + 1;
            } else if (cmp > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /**
     * Index of the first block of {@code streamId} that ends after {@code offset} (holds it or starts
     * later), or -1 if there is none. Use it when {@code offset} may fall in a gap.
     */
    public int findBlockAtOrAfter(long streamId, long offset) {
        int lo = 0;
        int hi = entries.size();
        while (lo < hi) { // first entry with (stream, endOffset) > (streamId, offset)
            int mid = (lo + hi) >>> 1;
            IndexEntry e = entries.get(mid);
            boolean before = e.streamId() < streamId || e.streamId() == streamId && e.endOffset() <= offset;
            if (before) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < entries.size() && entries.get(lo).streamId() == streamId ? lo : -1;
    }

    /**
     * Each stream's contiguous offset ranges in this object, in (stream, offset) order: what the
     * manifest says about the object, rebuilt from the object alone.
     */
    public List<StreamRange> streamRanges() {
        List<StreamRange> out = new ArrayList<>();
        IndexEntry first = null;
        IndexEntry last = null;
        int blocks = 0;
        long bytes = 0;
        for (IndexEntry e : entries) {
            if (first != null && (e.streamId() != last.streamId() || e.startOffset() != last.endOffset())) {
                out.add(new StreamRange(first.streamId(), first.startOffset(), last.endOffset(), blocks, bytes));
                first = null;
            }
            if (first == null) {
                first = e;
                blocks = 0;
                bytes = 0;
            }
            last = e;
            blocks++;
            bytes += e.size();
        }
        if (first != null) {
            out.add(new StreamRange(first.streamId(), first.startOffset(), last.endOffset(), blocks, bytes));
        }
        return out;
    }

    @Override
    public String toString() {
        return "ObjectIndex[blocks=" + entries.size() + ", ranges=" + streamRanges() + "]";
    }
}
