package dev.strata.core.metadata;

import dev.strata.api.StreamLabels;
import java.util.List;

/**
 * One atomic change to the metadata, as written to the manifest log and applied by
 * {@link MetadataState#apply}. Every change except {@link RegisterNode} carries the node epoch of
 * the process that made it; a change from an older node epoch is fenced.
 */
public sealed interface MetadataChange {

    /** The node epoch the change was made under. */
    long nodeEpoch();

    /** A process takes ownership of the store: the node epoch becomes {@code nodeEpoch}. */
    record RegisterNode(long nodeEpoch) implements MetadataChange {
    }

    /**
     * Creates stream {@code streamId} (which must be the next unused id) at {@code epoch}, with its
     * tenant and tags; {@code encrypted}: every batch of it is encrypted (its encrypted-from offset
     * is 0; it then has a tenant).
     */
    record CreateStream(long nodeEpoch, long streamId, long epoch, StreamLabels labels, boolean encrypted)
            implements MetadataChange {
        public CreateStream {
            if (labels == null) {
                throw new IllegalArgumentException("labels must not be null (use StreamLabels.NONE)");
            }
            if (encrypted && labels.tenant().isEmpty()) {
                throw new IllegalArgumentException("an encrypted stream has a tenant: labels=" + labels);
            }
        }

        /** A stream that is not encrypted. */
        public CreateStream(long nodeEpoch, long streamId, long epoch, StreamLabels labels) {
            this(nodeEpoch, streamId, epoch, labels, false);
        }

        /** A stream without tenant or tags. */
        public CreateStream(long nodeEpoch, long streamId, long epoch) {
            this(nodeEpoch, streamId, epoch, StreamLabels.NONE);
        }
    }

    /**
     * Opens {@code streamId} at {@code epoch}, which must not be lower than the stored epoch. When the
     * epoch rises, the new epoch owns the stream from {@code epochStartOffset} (the opener's view of
     * the end: what older holders wrote below it stays, anything of theirs at or above it is fenced);
     * -1 means the committed end offset. {@code encryptFrom} &gt;= 0: the opener encrypts the stream,
     * which, if not encrypted yet, is encrypted from there on (at least from its committed end offset);
     * -1: no change.
     */
    record OpenStream(long nodeEpoch, long streamId, long epoch, long epochStartOffset, long encryptFrom)
            implements MetadataChange {
        /** An open that changes nothing about encryption. */
        public OpenStream(long nodeEpoch, long streamId, long epoch, long epochStartOffset) {
            this(nodeEpoch, streamId, epoch, epochStartOffset, StreamMetadata.NOT_ENCRYPTED);
        }
    }

    /** Moves the start offset of {@code streamId} forward to {@code newStartOffset}. */
    record TrimStream(long nodeEpoch, long streamId, long epoch, long newStartOffset) implements MetadataChange {
    }

    /** Deletes {@code streamId}; its ranges in objects become garbage. */
    record DeleteStream(long nodeEpoch, long streamId, long epoch) implements MetadataChange {
    }

    /**
     * Commits uploaded objects: adds them and advances each stream's committed end offset; then the
     * WAL may be trimmed up to {@code walTrimPosition}. Idempotent: objects already committed are
     * skipped.
     */
    record CommitObjects(long nodeEpoch, List<ObjectMetadata> objects, long walTrimPosition) implements MetadataChange {
        public CommitObjects {
            objects = List.copyOf(objects);
        }
    }

    /**
     * Replaces committed objects by others in one step: a compaction's commit, or (with no
     * {@code added} objects) dropping objects that hold only dead data (trimmed or deleted streams).
     * For every live stream the removed objects hold, the added objects hold the same offsets except
     * ones below the stream's start offset, so readers never see a gap or a duplicate. Idempotent:
     * a retry after the change was applied is a no-op.
     */
    record ReplaceObjects(long nodeEpoch, List<String> removedKeys, List<ObjectMetadata> added) implements MetadataChange {
        public ReplaceObjects {
            removedKeys = List.copyOf(removedKeys);
            added = List.copyOf(added);
        }
    }

    /**
     * Records, under the node epoch, that objects found in the store but not in the metadata (uploads
     * never committed, objects removed before a crash) are about to be deleted. Changes nothing; it
     * exists so that only the current node may delete: a fenced node's sweep fails here instead of
     * deleting what the new owner may have uploaded.
     */
    record DeleteOrphans(long nodeEpoch, List<String> keys) implements MetadataChange {
        public DeleteOrphans {
            keys = List.copyOf(keys);
        }
    }
}
