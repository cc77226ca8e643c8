package dev.strata.core.metadata;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where the store keeps its metadata: streams, committed objects, the WAL trim point and the node
 * epoch. An SPI, so a broker can back it with its own controller (KRaft, ZooKeeper, etcd); Strata
 * ships {@link InMemoryMetadataStore} and {@link ManifestMetadataStore} (the default, kept in the
 * object store). Every implementation obeys the rules of {@link MetadataState}: contiguous committed
 * ranges per stream, epoch checks, idempotent commits.
 *
 * <h2>Node epoch</h2>
 * {@link #registerNode()} is called once, when a process opens the store; it raises the node epoch,
 * so a previous process using the same metadata can no longer change anything: its changes fail
 * with {@link dev.strata.api.StreamFencedException}.
 *
 * <h2>Thread-safety and failures</h2>
 * Thread-safe. Changes are applied in call order, each as if alone: the shipped stores group-commit
 * the changes called while one write is in flight into the next write, and validate each against
 * the state the ones before it leave, so one that fails, fails alone. Futures fail with
 * {@link dev.strata.api.StreamFencedException} (stale node or stream epoch),
 * {@link dev.strata.api.StreamNotFoundException}, {@link dev.strata.api.StorageException} (the
 * backing storage failed: the change may or may not have been applied; retrying a commit is safe
 * because commits are idempotent), or {@link IllegalStateException} for a change that breaks an
 * invariant (a bug in the caller), or {@link dev.strata.api.BackpressureException} (too many
 * changes waiting; nothing changed). The read methods return the local view and never do I/O.
 */
public interface MetadataStore extends AutoCloseable {

    /** Takes ownership of the metadata for this process; returns the new node epoch. */
    CompletableFuture<Long> registerNode();

    /** The node epoch registered by this store, or -1 before {@link #registerNode()}. */
    long nodeEpoch();

    /** Creates a stream with the next unused id at {@code epoch}, with its tenant and tags. */
    CompletableFuture<StreamMetadata> createStream(long epoch, dev.strata.api.StreamLabels labels);

    /**
     * Creates a stream with the next unused id at {@code epoch}, with its tenant and tags;
     * {@code encrypted}: every batch of it will be encrypted ({@link StreamMetadata#encryptedFromOffset()} 0).
     * The default supports only {@code encrypted = false}; {@link AbstractMetadataStore} supports both.
     */
    default CompletableFuture<StreamMetadata> createStream(long epoch, dev.strata.api.StreamLabels labels,
            boolean encrypted) {
        if (encrypted) {
            throw new UnsupportedOperationException("this metadata store cannot record encrypted streams: "
                    + getClass().getName());
        }
        return createStream(epoch, labels);
    }

    /** {@link #createStream(long, dev.strata.api.StreamLabels)} without tenant or tags. */
    default CompletableFuture<StreamMetadata> createStream(long epoch) {
        return createStream(epoch, dev.strata.api.StreamLabels.NONE);
    }

    /**
     * Records that {@code streamId} is opened at {@code epoch} (not lower than the stored epoch). If
     * the epoch rises, the new epoch owns the stream from {@code epochStartOffset} (-1: the committed
     * end); older holders' data at or above it is fenced and never becomes visible.
     */
    CompletableFuture<StreamMetadata> openStream(long streamId, long epoch, long epochStartOffset);

    /**
     * {@link #openStream(long, long, long)}, and, with {@code encryptFrom >= 0}, records that the
     * opener encrypts the stream: one not encrypted yet is encrypted from {@code encryptFrom} (at least
     * its committed end) on ({@link StreamMetadata#encryptedFromOffset()}). The default supports only
     * {@code encryptFrom = -1}; {@link AbstractMetadataStore} supports both.
     */
    default CompletableFuture<StreamMetadata> openStream(long streamId, long epoch, long epochStartOffset,
            long encryptFrom) {
        if (encryptFrom >= 0) {
            throw new UnsupportedOperationException("this metadata store cannot record encrypted streams: "
                    + getClass().getName());
        }
        return openStream(streamId, epoch, epochStartOffset);
    }

    /** {@link #openStream(long, long, long)} from the committed end offset. */
    default CompletableFuture<StreamMetadata> openStream(long streamId, long epoch) {
        return openStream(streamId, epoch, -1);
    }

    /** Moves the start offset of {@code streamId} forward (never backward). */
    CompletableFuture<StreamMetadata> trimStream(long streamId, long epoch, long newStartOffset);

    /** Deletes {@code streamId}; its objects become garbage once no live stream needs them. */
    CompletableFuture<Void> deleteStream(long streamId, long epoch);

    /**
     * Commits uploaded objects atomically (all or none) and records that the WAL may be trimmed up to
     * {@code walTrimPosition}. Objects already committed (same key) are skipped.
     */
    CompletableFuture<Void> commitObjects(List<ObjectMetadata> objects, long walTrimPosition);

    /**
     * Replaces committed objects atomically (compaction): {@code removedKeys} leave the metadata and
     * {@code added} (already fully uploaded) take their place; for every live stream the added objects
     * hold the same offsets as the removed ones, except offsets below the stream's start offset. With
     * no {@code added} objects, drops objects holding only trimmed or deleted data. Readers see the
     * old set or the new one, never a mix. Idempotent: a retry after success is a no-op. The removed
     * objects become garbage: the caller deletes them once no reader can still be using them.
     */
    CompletableFuture<Void> replaceObjects(List<String> removedKeys, List<ObjectMetadata> added);

    /**
     * Records that {@code keys}, found in the object store but not committed, are about to be deleted
     * as orphans. Fails with {@link dev.strata.api.StreamFencedException} if a newer process owns the
     * store (so a fenced process never deletes the new owner's uploads) and with
     * {@link IllegalStateException} if any key is committed.
     */
    CompletableFuture<Void> deleteOrphans(List<String> keys);

    /** The local view of one stream. */
    Optional<StreamMetadata> stream(long streamId);

    /** The local view of every live stream. */
    List<StreamMetadata> streams();

    /** The committed objects holding offsets of {@code streamId} in {@code [startOffset, endOffset)}, in order. */
    List<Map.Entry<StreamRange, ObjectMetadata>> objectsCovering(long streamId, long startOffset, long endOffset);

    /** Every committed object. */
    Collection<ObjectMetadata> objects();

    /** The highest WAL position committed data reaches; the WAL may be trimmed to it. */
    long walTrimPosition();

    /** Releases threads and clients; idempotent. Pending changes fail. */
    @Override
    void close();
}
