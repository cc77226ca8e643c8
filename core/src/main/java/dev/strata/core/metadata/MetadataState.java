package dev.strata.core.metadata;

import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The metadata at one version, and the rules every change obeys. Both {@link MetadataStore}
 * implementations apply changes only through {@link #apply}, so they obey the same rules.
 *
 * <h2>Rules (named checks below)</h2>
 * <ul>
 *   <li>{@link #checkNodeEpoch}: a change made under an older node epoch is fenced
 *       ({@link StreamFencedException}); a new node epoch must be higher than the current one.</li>
 *   <li>{@link #checkStreamEpoch}: open, trim and delete with an epoch lower than the stored one are
 *       fenced.</li>
 *   <li>{@link #checkContiguous}: a committed range of a stream starts exactly at the stream's
 *       committed end offset: committed data has no gaps and no overlaps.</li>
 *   <li>Idempotent commit: an object whose key is already committed is skipped (a retried commit
 *       succeeds once).</li>
 *   <li>Stream ids are never reused; ranges of a deleted stream are kept in their objects but not
 *       indexed (they are garbage for the collector).</li>
 *   <li>{@link #checkReplace}: replacing objects (compaction) keeps every live offset: for each live
 *       stream, the added objects hold exactly the offsets the removed ones held, except offsets
 *       below the stream's start offset, which may be dropped; no object that stays may overlap what
 *       is replaced. Added runs wholly below the start offset (a trim landed while the compaction
 *       ran) are dead data, accepted if a removed object held them; a later cycle drops them. A
 *       replace that was already applied is a no-op (idempotent).</li>
 *   <li>{@link #checkOrphans}: objects about to be deleted as orphans are not committed.</li>
 * </ul>
 * {@code apply} validates the whole change before mutating anything: a rejected change leaves the
 * state as it was.
 *
 * <p>Not thread-safe: owners guard it with their own lock.
 */
public final class MetadataState {

    private long version;
    private long nodeEpoch;
    private long nextStreamId = 1;
    private long walTrimPosition;
    private final NavigableMap<Long, StreamMetadata> streams = new TreeMap<>();
    private final Map<String, ObjectMetadata> objects = new LinkedHashMap<>();
    /** streamId -> (range start offset -> object holding the range). */
    private final Map<Long, NavigableMap<Long, ObjectMetadata>> rangeIndex = new HashMap<>();

    /** An empty state at version 0. */
    public MetadataState() {
    }

    /** A state restored from a snapshot. */
    static MetadataState restore(long version, long nodeEpoch, long nextStreamId, long walTrimPosition,
            Collection<StreamMetadata> streams, Collection<ObjectMetadata> objects) {
        MetadataState s = new MetadataState();
        s.version = version;
        s.nodeEpoch = nodeEpoch;
        s.nextStreamId = nextStreamId;
        s.walTrimPosition = walTrimPosition;
        for (StreamMetadata m : streams) {
            s.streams.put(m.streamId(), m);
        }
        for (ObjectMetadata o : objects) {
            s.objects.put(o.key(), o);
            s.index(o);
        }
        return s;
    }

    /** Number of log entries (each one or more changes, see {@link #apply(List)}) applied since the empty state. */
    public long version() {
        return version;
    }

    public long nodeEpoch() {
        return nodeEpoch;
    }

    /** The id the next created stream gets. */
    public long nextStreamId() {
        return nextStreamId;
    }

    public long walTrimPosition() {
        return walTrimPosition;
    }

    public Optional<StreamMetadata> stream(long streamId) {
        return Optional.ofNullable(streams.get(streamId));
    }

    public Collection<StreamMetadata> streams() {
        return Collections.unmodifiableCollection(streams.values());
    }

    public Collection<ObjectMetadata> objects() {
        return Collections.unmodifiableCollection(objects.values());
    }

    public Optional<ObjectMetadata> object(String key) {
        return Optional.ofNullable(objects.get(key));
    }

    /**
     * The objects holding offsets of {@code streamId} in {@code [startOffset, endOffset)}, in offset
     * order, each with the range it holds.
     */
    public List<Map.Entry<StreamRange, ObjectMetadata>> objectsCovering(long streamId, long startOffset, long endOffset) {
        NavigableMap<Long, ObjectMetadata> index = rangeIndex.get(streamId);
        List<Map.Entry<StreamRange, ObjectMetadata>> out = new ArrayList<>();
        if (index == null || endOffset <= startOffset) {
            return out;
        }
        Long from = index.floorKey(startOffset);
        for (ObjectMetadata o : index.subMap(from == null ? startOffset : from, true, endOffset, false).values()) {
            StreamRange r = rangeOf(o, streamId);
            if (r.endOffset() > startOffset) {
                out.add(Map.entry(r, o));
            }
        }
        return out;
    }

    /** Applies {@code change} (validating it first) and advances the version: {@code apply(List.of(change))}. */
    public void apply(MetadataChange change) {
        apply(List.of(change));
    }

    /**
     * Applies the changes of one log entry in order and advances the version by one. All of them are
     * validated first, each against the state the earlier ones leave ({@link ChangeBatch}): if one is
     * rejected, nothing is applied. An entry holds one change of any kind, or any number of stream
     * changes (create, open, trim, delete).
     *
     * @throws StreamFencedException as {@link #validate}
     * @throws StreamNotFoundException as {@link #validate}
     * @throws IllegalStateException as {@link #validate}
     */
    public void apply(List<MetadataChange> changes) {
        if (changes.isEmpty()) {
            throw new IllegalArgumentException("a log entry holds at least one change");
        }
        ChangeBatch check = new ChangeBatch(this);
        for (MetadataChange change : changes) {
            if (!check.accepts(change)) {
                throw new IllegalStateException("a log entry holds one change of this kind or only stream changes: "
                        + changes);
            }
            check.add(change);
        }
        for (MetadataChange change : changes) {
            mutate(change);
        }
        version++;
    }

    /**
     * What {@code change} would do, checked without applying it.
     *
     * @throws StreamFencedException if the change's node or stream epoch is stale
     * @throws StreamNotFoundException if it names a stream that does not exist
     * @throws IllegalStateException if it would break contiguity or reuse an id (a programming error)
     */
    public void validate(MetadataChange change) {
        if (change instanceof MetadataChange.RegisterNode r) {
            if (r.nodeEpoch() <= nodeEpoch) {
                throw new StreamFencedException("node epoch must increase: current=" + nodeEpoch + " proposed=" + r.nodeEpoch());
            }
        } else if (isStreamChange(change)) {
            checkNodeEpoch(change.nodeEpoch());
            long id = streamIdOf(change);
            streamAfter(change, streams.get(id), nextStreamId);
        } else if (change instanceof MetadataChange.CommitObjects c) {
            checkNodeEpoch(c.nodeEpoch());
            Map<Long, Long> ends = new HashMap<>();
            for (ObjectMetadata o : c.objects()) {
                ObjectMetadata existing = objects.get(o.key());
                if (existing != null) {
                    if (!existing.equals(o)) {
                        throw new IllegalStateException("object key already committed with other content: key=" + o.key());
                    }
                    continue;
                }
                for (StreamRange r : o.ranges()) {
                    StreamMetadata s = streams.get(r.streamId());
                    if (s == null) {
                        checkKnownId(r.streamId());
                        continue; // deleted stream: garbage, not indexed
                    }
                    long end = ends.getOrDefault(r.streamId(), s.committedEndOffset());
                    checkContiguous(r, end, o.key());
                    ends.put(r.streamId(), r.endOffset());
                }
            }
        } else if (change instanceof MetadataChange.ReplaceObjects r) {
            checkNodeEpoch(r.nodeEpoch());
            if (!isApplied(r)) {
                checkReplace(r);
            }
        } else if (change instanceof MetadataChange.DeleteOrphans d) {
            checkNodeEpoch(d.nodeEpoch());
            checkOrphans(d.keys());
        } else {
            throw new IllegalArgumentException("unknown change: " + change);
        }
    }

    private void mutate(MetadataChange change) {
        if (change instanceof MetadataChange.RegisterNode r) {
            nodeEpoch = r.nodeEpoch();
        } else if (isStreamChange(change)) {
            long id = streamIdOf(change);
            StreamMetadata after = streamAfter(change, streams.get(id), nextStreamId);
            if (after == null) {
                streams.remove(id);
                rangeIndex.remove(id);
            } else {
                streams.put(id, after);
            }
            if (change instanceof MetadataChange.CreateStream) {
                nextStreamId = id + 1;
            }
        } else if (change instanceof MetadataChange.CommitObjects c) {
            for (ObjectMetadata o : c.objects()) {
                if (objects.putIfAbsent(o.key(), o) != null) {
                    continue;
                }
                index(o);
                for (StreamRange r : o.ranges()) {
                    StreamMetadata s = streams.get(r.streamId());
                    if (s != null) {
                        streams.put(s.streamId(), s.withOffsets(s.startOffset(), r.endOffset()));
                    }
                }
            }
            walTrimPosition = Math.max(walTrimPosition, c.walTrimPosition());
        } else if (change instanceof MetadataChange.ReplaceObjects r) {
            if (isApplied(r)) {
                return;
            }
            for (String key : r.removedKeys()) {
                unindex(objects.remove(key));
            }
            for (ObjectMetadata o : r.added()) {
                objects.put(o.key(), o);
                index(o);
            }
        } else if (change instanceof MetadataChange.DeleteOrphans) {
            // nothing to change: the entry only proves this node still owns the store
        } else {
            throw new IllegalArgumentException("unknown change: " + change);
        }
    }

    /**
     * Whether {@code change} touches one stream's record only (create, open, trim, delete): such
     * changes depend on nothing but the node epoch, that stream and, for a create, the next stream
     * id, so several of them can be validated in a row without applying them ({@link ChangeBatch}).
     */
    static boolean isStreamChange(MetadataChange change) {
        return change instanceof MetadataChange.CreateStream || change instanceof MetadataChange.OpenStream
                || change instanceof MetadataChange.TrimStream || change instanceof MetadataChange.DeleteStream;
    }

    /** The stream a {@linkplain #isStreamChange stream change} touches. */
    static long streamIdOf(MetadataChange change) {
        if (change instanceof MetadataChange.CreateStream c) {
            return c.streamId();
        } else if (change instanceof MetadataChange.OpenStream o) {
            return o.streamId();
        } else if (change instanceof MetadataChange.TrimStream t) {
            return t.streamId();
        } else if (change instanceof MetadataChange.DeleteStream d) {
            return d.streamId();
        }
        throw new IllegalArgumentException("not a stream change: " + change);
    }

    /**
     * Checks a {@linkplain #isStreamChange stream change} (all but its node epoch) against the
     * stream's current record and returns the record after it: null once deleted. The one place the
     * rules of create, open, trim and delete live; {@link #apply} and {@link ChangeBatch} both use it.
     *
     * @param current the stream's record, or null if it does not exist (never created, or deleted)
     * @param nextStreamId the id the next created stream gets
     */
    static StreamMetadata streamAfter(MetadataChange change, StreamMetadata current, long nextStreamId) {
        if (change instanceof MetadataChange.CreateStream c) {
            if (c.streamId() != nextStreamId) {
                throw new IllegalStateException("stream id must be the next unused id: expected=" + nextStreamId
                        + " got=" + c.streamId());
            }
            return new StreamMetadata(c.streamId(), c.epoch(), 0, 0, 0, c.labels(),
                    c.encrypted() ? 0 : StreamMetadata.NOT_ENCRYPTED);
        }
        long id = streamIdOf(change);
        if (current == null) {
            throw new StreamNotFoundException(id);
        }
        if (change instanceof MetadataChange.OpenStream o) {
            checkStreamEpoch(current, o.epoch(), "open");
            long fence = o.epoch() == current.epoch() ? current.epochStartOffset()
                    : Math.max(current.committedEndOffset(), o.epochStartOffset());
            long encryptedFrom = current.isEncrypted() || o.encryptFrom() < 0 ? current.encryptedFromOffset()
                    : Math.max(current.committedEndOffset(), o.encryptFrom()); // set once, never moved
            return new StreamMetadata(id, o.epoch(), current.startOffset(), current.committedEndOffset(), fence,
                    current.labels(), encryptedFrom);
        } else if (change instanceof MetadataChange.TrimStream t) {
            checkStreamEpoch(current, t.epoch(), "trim");
            return current.withOffsets(Math.max(current.startOffset(), t.newStartOffset()), current.committedEndOffset());
        } else {
            checkStreamEpoch(current, ((MetadataChange.DeleteStream) change).epoch(), "delete");
            return null;
        }
    }

    /** Rule: only the current node may change the metadata. */
    void checkNodeEpoch(long changeNodeEpoch) {
        if (changeNodeEpoch < nodeEpoch) {
            throw new StreamFencedException("node fenced: another process took over the store: nodeEpoch="
                    + changeNodeEpoch + " currentNodeEpoch=" + nodeEpoch);
        }
        if (changeNodeEpoch > nodeEpoch) {
            throw new IllegalStateException("change from an unregistered node epoch: nodeEpoch=" + changeNodeEpoch
                    + " currentNodeEpoch=" + nodeEpoch);
        }
    }

    /** Whether {@code r} was applied already: none of its removed objects and all of its added ones are committed. */
    private boolean isApplied(MetadataChange.ReplaceObjects r) {
        for (String key : r.removedKeys()) {
            if (objects.containsKey(key)) {
                return false;
            }
        }
        for (ObjectMetadata o : r.added()) {
            if (!o.equals(objects.get(o.key()))) {
                return false;
            }
        }
        return true;
    }

    /** Rule: a replace keeps every live offset, exactly once (see the class comment). */
    private void checkReplace(MetadataChange.ReplaceObjects r) {
        Set<String> removed = new HashSet<>(r.removedKeys());
        if (removed.size() != r.removedKeys().size()) {
            throw new IllegalStateException("replace names an object twice: removed=" + r.removedKeys());
        }
        if (removed.isEmpty()) {
            throw new IllegalStateException("replace removes no object: added=" + r.added());
        }
        Map<Long, List<StreamRange>> removedRanges = new TreeMap<>();
        for (String key : r.removedKeys()) {
            ObjectMetadata o = objects.get(key);
            if (o == null) {
                throw new IllegalStateException("object to replace is not committed: key=" + key);
            }
            for (StreamRange range : o.ranges()) {
                if (streams.containsKey(range.streamId())) {
                    removedRanges.computeIfAbsent(range.streamId(), id -> new ArrayList<>()).add(range);
                }
            }
        }
        Map<Long, List<StreamRange>> addedRanges = new TreeMap<>();
        Set<String> addedKeys = new HashSet<>();
        for (ObjectMetadata o : r.added()) {
            if (objects.containsKey(o.key()) || !addedKeys.add(o.key())) {
                throw new IllegalStateException("replacement object key already used: key=" + o.key());
            }
            for (StreamRange range : o.ranges()) {
                if (streams.containsKey(range.streamId())) {
                    addedRanges.computeIfAbsent(range.streamId(), id -> new ArrayList<>()).add(range);
                } else {
                    checkKnownId(range.streamId()); // deleted since the compaction read it: garbage, not indexed
                }
            }
        }
        for (long streamId : addedRanges.keySet()) {
            if (!removedRanges.containsKey(streamId)) {
                throw new IllegalStateException("replacement adds offsets of a stream the replaced objects do not hold: streamId="
                        + streamId);
            }
        }
        for (Map.Entry<Long, List<StreamRange>> e : removedRanges.entrySet()) {
            long streamId = e.getKey();
            long startOffset = streams.get(streamId).startOffset();
            List<long[]> removedRuns = runs(e.getValue());
            for (long[] run : removedRuns) {
                for (Map.Entry<StreamRange, ObjectMetadata> covering : objectsCovering(streamId, run[0], run[1])) {
                    if (!removed.contains(covering.getValue().key())) {
                        throw new IllegalStateException("replaced range of stream " + streamId + " [" + run[0] + ","
                                + run[1] + ") overlaps object " + covering.getValue().key() + " which stays");
                    }
                }
            }
            List<long[]> liveRuns = new ArrayList<>();
            for (long[] run : removedRuns) {
                if (run[1] > startOffset) {
                    liveRuns.add(run);
                }
            }
            List<long[]> addedRuns = new ArrayList<>();
            for (long[] run : runs(addedRanges.getOrDefault(streamId, new ArrayList<>()))) {
                if (run[1] > startOffset) {
                    addedRuns.add(run);
                } else if (!withinOne(run, removedRuns)) {
                    // wholly below the start: dead data (a trim landed while the compaction ran), which
                    // a later cycle drops; accepted if the replaced objects held it
                    throw new IllegalStateException("replacement of stream " + streamId + " holds [" + run[0] + ","
                            + run[1] + "), which no replaced object holds");
                }
            }
            if (addedRuns.size() != liveRuns.size()) {
                throw new IllegalStateException("replacement of stream " + streamId + " must hold the live runs "
                        + describe(liveRuns) + " (start offset " + startOffset + "), holds " + describe(addedRuns));
            }
            for (int i = 0; i < liveRuns.size(); i++) {
                long[] was = liveRuns.get(i);
                long[] now = addedRuns.get(i);
                if (now[1] != was[1] || now[0] < was[0] || now[0] > Math.max(was[0], startOffset)) {
                    throw new IllegalStateException("replacement of stream " + streamId + " holds [" + now[0] + ","
                            + now[1] + ") for the replaced run [" + was[0] + "," + was[1] + ") (start offset "
                            + startOffset + "): it must end where the run ends and may drop only offsets below the start");
                }
            }
        }
    }

    /** Whether {@code run} lies within one of {@code runs}. */
    private static boolean withinOne(long[] run, List<long[]> runs) {
        for (long[] r : runs) {
            if (r[0] <= run[0] && run[1] <= r[1]) {
                return true;
            }
        }
        return false;
    }

    /** Ranges of one stream, sorted and joined into runs of contiguous offsets {start, end}. */
    private static List<long[]> runs(List<StreamRange> ranges) {
        ranges.sort((a, b) -> Long.compare(a.startOffset(), b.startOffset()));
        List<long[]> runs = new ArrayList<>();
        for (StreamRange range : ranges) {
            long[] last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
            if (last != null && range.startOffset() < last[1]) {
                throw new IllegalStateException("overlapping ranges of stream " + range.streamId() + ": " + ranges);
            }
            if (last != null && range.startOffset() == last[1]) {
                last[1] = range.endOffset();
            } else {
                runs.add(new long[] {range.startOffset(), range.endOffset()});
            }
        }
        return runs;
    }

    private static String describe(List<long[]> runs) {
        StringBuilder sb = new StringBuilder("[");
        for (long[] run : runs) {
            sb.append(sb.length() > 1 ? ", " : "").append('[').append(run[0]).append(',').append(run[1]).append(')');
        }
        return sb.append(']').toString();
    }

    /** Rule: objects deleted as orphans are not committed. */
    private void checkOrphans(List<String> keys) {
        for (String key : keys) {
            if (objects.containsKey(key)) {
                throw new IllegalStateException("object is committed, not an orphan: key=" + key);
            }
        }
    }

    /** Rule: a holder with an epoch below the stored one is fenced. */
    private static void checkStreamEpoch(StreamMetadata s, long epoch, String what) {
        if (epoch < s.epoch()) {
            throw new StreamFencedException(what + " with stale epoch: streamId=" + s.streamId() + " epoch=" + epoch
                    + " storedEpoch=" + s.epoch());
        }
    }

    /** Rule: committed ranges of a stream follow each other with no gap and no overlap. */
    private static void checkContiguous(StreamRange range, long committedEnd, String key) {
        if (range.startOffset() != committedEnd) {
            throw new IllegalStateException("committed ranges must be contiguous: streamId=" + range.streamId()
                    + " committedEndOffset=" + committedEnd + " rangeStart=" + range.startOffset() + " key=" + key);
        }
    }

    private void checkKnownId(long streamId) {
        if (streamId >= nextStreamId || streamId < 1) {
            throw new StreamNotFoundException(streamId);
        }
    }

    private void index(ObjectMetadata o) {
        for (StreamRange r : o.ranges()) {
            if (streams.containsKey(r.streamId())) {
                rangeIndex.computeIfAbsent(r.streamId(), k -> new TreeMap<>()).put(r.startOffset(), o);
            }
        }
    }

    private void unindex(ObjectMetadata o) {
        for (StreamRange r : o.ranges()) {
            NavigableMap<Long, ObjectMetadata> index = rangeIndex.get(r.streamId());
            if (index != null && index.get(r.startOffset()) == o) {
                index.remove(r.startOffset());
            }
        }
    }

    private static StreamRange rangeOf(ObjectMetadata o, long streamId) {
        StreamRange r = o.range(streamId);
        if (r == null) {
            throw new IllegalStateException("object does not hold stream: key=" + o.key() + " streamId=" + streamId);
        }
        return r;
    }

    /** A deep copy (records are immutable, so copying the maps suffices). */
    public MetadataState copy() {
        return restore(version, nodeEpoch, nextStreamId, walTrimPosition, streams.values(), objects.values());
    }
}
