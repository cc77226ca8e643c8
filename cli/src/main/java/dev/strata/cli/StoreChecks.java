package dev.strata.cli;

import dev.strata.api.CorruptDataException;
import dev.strata.api.UnsupportedFormatVersionException;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectNotFoundException;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.IndexEntry;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.StreamBatch;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The checks {@code verify} and {@code fsck} run on a store: objects against their own CRCs and
 * against the manifest, streams' committed ranges, and objects no one references. Each returns the
 * problems it found; none changes anything. Not thread-safe.
 */
final class StoreChecks {

    /** Bytes of blocks read at once while verifying an object (its blocks decoded in memory). */
    static final long WINDOW_BYTES = 8L << 20;

    private final StoreAccess store;

    StoreChecks(StoreAccess store) {
        this.store = store;
    }

    /** Data objects in the object store, by key (manifest files and other keys left out). */
    Map<String, ObjectInfo> storedDataObjects() {
        Map<String, ObjectInfo> out = new TreeMap<>();
        for (ObjectInfo info : store.list("")) {
            if (ObjectKeys.parseObjectId(info.key()) >= 0) {
                out.put(info.key(), info);
            }
        }
        return out;
    }

    /**
     * Every manifest object present with its recorded size; with {@code readObjects}, each one's
     * footer, index and blocks (CRCs, decompression, agreement with the index) and its stream ranges
     * against the manifest's; with {@code deep} also every batch's CRC.
     *
     * @param stored what {@link #storedDataObjects()} returned
     * @param missing receives the keys of manifest objects the store does not have
     * @return the number of blocks read (with {@code readObjects})
     */
    long checkObjects(Collection<ObjectMetadata> objects, Map<String, ObjectInfo> stored, boolean readObjects,
            boolean deep, List<Problem> problems, java.util.Set<String> missing) {
        long blocks = 0;
        for (ObjectMetadata o : objects) {
            ObjectInfo info = stored.get(o.key());
            if (info == null) {
                info = headOrNull(o.key()); // listed before the manifest was read: committed since
            }
            if (info == null) {
                problems.add(new Problem("missing-object", o.key(), "in the manifest but not in the object store:"
                        + " size=" + o.sizeBytes() + " ranges=" + ranges(o.ranges())));
                missing.add(o.key());
                continue;
            }
            if (info.size() != o.sizeBytes()) {
                problems.add(new Problem("size-mismatch", o.key(), "manifest size=" + o.sizeBytes()
                        + " stored size=" + info.size()));
                continue;
            }
            if (readObjects) {
                blocks += checkObject(o, deep, problems);
            }
        }
        return blocks;
    }

    private ObjectInfo headOrNull(String key) {
        try {
            return StoreAccess.await(store.storage().head(key));
        } catch (ObjectNotFoundException e) {
            return null;
        }
    }

    /** Reads every block of {@code o}; returns how many were read. */
    private long checkObject(ObjectMetadata o, boolean deep, List<Problem> problems) {
        ObjectReader reader;
        try {
            reader = StoreAccess.await(ObjectReader.open(store.storage(), o.key(), o.sizeBytes()));
        } catch (UnsupportedFormatVersionException e) {
            problems.add(new Problem("unsupported-version", o.key(), e.getMessage()));
            return 0;
        } catch (CorruptDataException e) {
            problems.add(new Problem("corrupt-object", o.key(), e.getMessage()));
            return 0;
        }
        int n = reader.index().size();
        for (int from = 0; from < n; ) {
            // a window of blocks at a time, so a large object is never all in memory at once
            int to = from;
            long bytes = 0;
            while (to < n && (to == from || bytes + reader.index().entry(to).size() <= WINDOW_BYTES)) {
                bytes += reader.index().entry(to).size();
                to++;
            }
            List<CompletableFuture<DataBlock>> futures = reader.readEachBlock(from, to);
            for (int i = from; i < to; i++) {
                IndexEntry e = reader.index().entry(i);
                DataBlock block;
                try {
                    block = StoreAccess.await(futures.get(i - from));
                } catch (CorruptDataException ex) {
                    problems.add(new Problem("corrupt-block", o.key(), "block=" + i + " streamId=" + e.streamId()
                            + " offsets=[" + e.startOffset() + "," + e.endOffset() + ") position=" + e.position()
                            + " size=" + e.size() + ": " + ex.getMessage()));
                    continue;
                } catch (RuntimeException ex) { // the store failed: release what the window still brings
                    for (CompletableFuture<DataBlock> f : futures.subList(i - from + 1, futures.size())) {
                        f.thenAccept(DataBlock::release);
                    }
                    throw ex;
                }
                try {
                    if (deep) {
                        checkBatches(o.key(), i, block, problems);
                    }
                } finally {
                    block.release();
                }
            }
            from = to;
        }
        compareRanges(o, reader.index().streamRanges(), problems);
        return n;
    }

    private static void checkBatches(String key, int blockIndex, DataBlock block, List<Problem> problems) {
        long expected = block.startOffset();
        for (StreamBatch b : block.batches()) {
            String where = "object=" + key + " block=" + blockIndex;
            try {
                b.verifyChecksum(where);
            } catch (CorruptDataException e) {
                problems.add(new Problem("corrupt-batch", key, "block=" + blockIndex + " baseOffset=" + b.baseOffset()
                        + ": " + e.getMessage()));
            }
            if (b.streamId() != block.streamId() || b.baseOffset() != expected) {
                problems.add(new Problem("batch-out-of-place", key, "block=" + blockIndex + " streamId="
                        + block.streamId() + " expected baseOffset=" + expected + " found streamId=" + b.streamId()
                        + " baseOffset=" + b.baseOffset()));
            }
            expected = b.nextOffset();
        }
    }

    private static void compareRanges(ObjectMetadata o, List<dev.strata.objectstore.format.StreamRange> actual,
            List<Problem> problems) {
        Map<Long, dev.strata.objectstore.format.StreamRange> byStream = new HashMap<>();
        for (dev.strata.objectstore.format.StreamRange r : actual) {
            byStream.put(r.streamId(), r);
        }
        for (StreamRange r : o.ranges()) {
            dev.strata.objectstore.format.StreamRange found = byStream.remove(r.streamId());
            if (found == null) {
                problems.add(new Problem("range-not-in-object", o.key(), "manifest range streamId=" + r.streamId()
                        + " offsets=[" + r.startOffset() + "," + r.endOffset() + ") is not in the object's index"));
            } else if (found.startOffset() != r.startOffset() || found.endOffset() != r.endOffset()) {
                problems.add(new Problem("range-mismatch", o.key(), "streamId=" + r.streamId() + " manifest offsets=["
                        + r.startOffset() + "," + r.endOffset() + ") object offsets=[" + found.startOffset() + ","
                        + found.endOffset() + ")"));
            }
        }
    }

    /**
     * Every stream's offsets from its start to its committed end are held by objects with no gap
     * and no two objects holding the same offset; ranges of {@code missing} objects point at nothing
     * and hold no offset.
     */
    static void checkStreamRanges(Collection<StreamMetadata> streams, Collection<ObjectMetadata> objects,
            java.util.Set<String> missing, List<Problem> problems) {
        Map<Long, List<StreamRange>> byStream = new HashMap<>();
        for (ObjectMetadata o : objects) {
            if (missing.contains(o.key())) {
                continue;
            }
            for (StreamRange r : o.ranges()) {
                byStream.computeIfAbsent(r.streamId(), k -> new ArrayList<>()).add(r);
            }
        }
        for (StreamMetadata s : streams) {
            List<StreamRange> ranges = byStream.getOrDefault(s.streamId(), new ArrayList<>());
            ranges.sort(Comparator.comparingLong(StreamRange::startOffset));
            long cursor = s.startOffset();
            for (StreamRange r : ranges) {
                if (r.endOffset() <= s.startOffset() || r.startOffset() >= s.committedEndOffset()) {
                    continue; // trimmed, or (not yet possible) above the committed end
                }
                if (r.startOffset() > cursor) {
                    problems.add(new Problem("gap", "stream=" + s.streamId(), "offsets [" + cursor + ","
                            + r.startOffset() + ") are committed but in no object (start=" + s.startOffset()
                            + " committedEnd=" + s.committedEndOffset() + ")"));
                } else if (r.startOffset() < cursor && cursor > s.startOffset()) {
                    problems.add(new Problem("overlap", "stream=" + s.streamId(), "offsets [" + r.startOffset() + ","
                            + Math.min(cursor, r.endOffset()) + ") are in more than one object"));
                }
                cursor = Math.max(cursor, r.endOffset());
            }
            if (cursor < s.committedEndOffset()) {
                problems.add(new Problem("gap", "stream=" + s.streamId(), "offsets [" + cursor + ","
                        + s.committedEndOffset() + ") are committed but in no object (start=" + s.startOffset()
                        + " committedEnd=" + s.committedEndOffset() + ")"));
            }
        }
    }

    static String ranges(List<StreamRange> ranges) {
        StringBuilder sb = new StringBuilder("[");
        for (StreamRange r : ranges) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append("stream ").append(r.streamId()).append(" [").append(r.startOffset()).append(',')
                    .append(r.endOffset()).append(')');
        }
        return sb.append(']').toString();
    }
}
