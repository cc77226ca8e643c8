package dev.strata.core.metadata;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Changes validated one after another against the state they will apply to, before any of them is
 * applied: the content of one manifest log entry (group commit). Each change is checked against the
 * base state plus the changes added before it, so a batch is valid exactly when applying its changes
 * one by one would be.
 *
 * <p>Stream changes (create, open, trim, delete; {@link MetadataState#isStreamChange}) read only the
 * node epoch, their stream's record and the next stream id, so the batch tracks just those; any
 * number of them may share a batch, the same stream several times included. Any other change
 * (register a node, commit, replace, orphans) reads much more of the state and goes alone: it is
 * {@linkplain #accepts accepted} only by an empty batch, and a batch holding it accepts nothing else.
 *
 * <p>Not thread-safe. The base state must not change while the batch is built and used.
 */
final class ChangeBatch {
    private final MetadataState base;
    /** Stream records changed by the batch so far; a null value: deleted by it. */
    private final Map<Long, StreamMetadata> touched = new HashMap<>();
    private final List<MetadataChange> changes = new ArrayList<>();
    private long nextStreamId;
    private boolean alone;

    ChangeBatch(MetadataState base) {
        this.base = base;
        this.nextStreamId = base.nextStreamId();
    }

    /** The node epoch of the base state (a node registration raises it). */
    long nodeEpoch() {
        return base.nodeEpoch();
    }

    /** The id a create added now must use. */
    long nextStreamId() {
        return nextStreamId;
    }

    /** Whether {@code change} may join the batch (validity aside). */
    boolean accepts(MetadataChange change) {
        return !alone && (changes.isEmpty() || MetadataState.isStreamChange(change));
    }

    /**
     * Validates {@code change} against the base state plus the batch and adds it. A rejected change
     * leaves the batch as it was.
     *
     * @return the stream's record after the change, for a stream change other than a delete; else null
     * @throws dev.strata.api.StreamFencedException as {@link MetadataState#validate}
     * @throws dev.strata.api.StreamNotFoundException as {@link MetadataState#validate}
     * @throws IllegalStateException as {@link MetadataState#validate}, or if the change must go in a
     *     log entry of its own
     */
    StreamMetadata add(MetadataChange change) {
        if (!accepts(change)) {
            throw new IllegalStateException("change must go in a log entry of its own: " + change);
        }
        if (!MetadataState.isStreamChange(change)) {
            base.validate(change);
            alone = true;
            changes.add(change);
            return null;
        }
        base.checkNodeEpoch(change.nodeEpoch());
        long id = MetadataState.streamIdOf(change);
        StreamMetadata current = touched.containsKey(id) ? touched.get(id) : base.stream(id).orElse(null);
        StreamMetadata after = MetadataState.streamAfter(change, current, nextStreamId);
        touched.put(id, after);
        if (change instanceof MetadataChange.CreateStream) {
            nextStreamId = id + 1;
        }
        changes.add(change);
        return after;
    }

    boolean isEmpty() {
        return changes.isEmpty();
    }

    int size() {
        return changes.size();
    }

    /** The changes in the order added. */
    List<MetadataChange> changes() {
        return List.copyOf(changes);
    }
}
