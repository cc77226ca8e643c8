package dev.strata.core.metadata;

import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamNotFoundException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * The part both metadata stores share: a {@link MetadataState} that only changes through
 * {@link MetadataState#apply}, changes made one at a time, and a local view read without I/O.
 *
 * <h2>Concurrency</h2>
 * Changes run one at a time on {@code writer} (a serial executor), each as: build the change from
 * the current state, validate it, {@link #persist} it, apply it. {@code lock} guards {@code state}:
 * the writer takes the write lock only to apply; readers take the read lock. Subclasses may apply
 * changes made by others (found while persisting) through {@link #applyFound}.
 *
 * <h2>Failure</h2>
 * A change that fails validation is not persisted. A change whose persist fails is not applied
 * locally; whether it reached the backing storage is up to the subclass to settle (see
 * {@link ManifestMetadataStore}).
 */
abstract class AbstractMetadataStore implements MetadataStore {

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Executor writer;
    // guarded by: lock
    private MetadataState state;
    private volatile long nodeEpoch = -1;
    private volatile boolean closed;

    AbstractMetadataStore(MetadataState initial, Executor writer) {
        this.state = initial;
        this.writer = writer;
    }

    /**
     * Makes {@code change} durable as version {@code version} of the metadata. Runs on the writer.
     * If another writer got there first, the subclass applies what it found (through
     * {@link #applyFound} or {@link #replaceState}) and returns {@code false}: the change is then
     * rebuilt from the newer state, validated again (it may now be fenced) and retried.
     *
     * @return true once persisted; false if the state moved on and the change must be rebuilt
     */
    protected abstract boolean persist(MetadataChange change, long version);

    /**
     * Called on the writer, under the write lock, after this store applied one of its own changes
     * (e.g. to write a snapshot). Must not block on I/O; the default does nothing.
     */
    protected void afterApply(MetadataState state) {
    }

    /** Most times a change is rebuilt after losing a race before the call fails. */
    private static final int MAX_REBUILDS = 16;

    /** Applies a change some writer already persisted (found in the backing storage). */
    protected final void applyFound(MetadataChange change) {
        lock.writeLock().lock();
        try {
            state.apply(change);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Replaces the whole state (after loading a newer snapshot). */
    protected final void replaceState(MetadataState newer) {
        lock.writeLock().lock();
        try {
            state = newer;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** A consistent copy of the current state. */
    protected final MetadataState snapshotState() {
        lock.readLock().lock();
        try {
            return state.copy();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The current version. */
    protected final long version() {
        lock.readLock().lock();
        try {
            return state.version();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Runs one change on the writer: build from the state, validate, persist, apply; returns {@code result}. */
    final <T> CompletableFuture<T> change(Function<MetadataState, MetadataChange> build, Function<MetadataState, T> result) {
        CompletableFuture<T> out = new CompletableFuture<>();
        try {
            writer.execute(() -> {
                try {
                    out.complete(runChange(build, result));
                } catch (Throwable t) {
                    out.completeExceptionally(t);
                }
            });
        } catch (RuntimeException rejected) {
            out.completeExceptionally(new StreamClosedException("metadata store closed", rejected));
        }
        return out;
    }

    private <T> T runChange(Function<MetadataState, MetadataChange> build, Function<MetadataState, T> result) {
        if (closed) {
            throw new StreamClosedException("metadata store closed");
        }
        for (int attempt = 0; attempt <= MAX_REBUILDS; attempt++) {
            MetadataChange change;
            long version;
            lock.readLock().lock();
            try {
                change = build.apply(state);
                state.validate(change);
                version = state.version() + 1;
            } finally {
                lock.readLock().unlock();
            }
            if (!persist(change, version)) {
                continue;
            }
            lock.writeLock().lock();
            try {
                state.apply(change);
                if (change instanceof MetadataChange.RegisterNode r) {
                    nodeEpoch = r.nodeEpoch();
                }
                T out = result.apply(state);
                afterApply(state);
                return out;
            } finally {
                lock.writeLock().unlock();
            }
        }
        throw new IllegalStateException("metadata change lost the race " + MAX_REBUILDS + " times in a row");
    }

    private long registeredEpoch() {
        long e = nodeEpoch;
        if (e < 0) {
            throw new IllegalStateException("registerNode() must be called before changing metadata");
        }
        return e;
    }

    @Override
    public CompletableFuture<Long> registerNode() {
        return change(s -> new MetadataChange.RegisterNode(s.nodeEpoch() + 1), MetadataState::nodeEpoch);
    }

    @Override
    public long nodeEpoch() {
        return nodeEpoch;
    }

    @Override
    public CompletableFuture<StreamMetadata> createStream(long epoch) {
        long node = registeredEpoch();
        long[] id = new long[1];
        return change(s -> {
            id[0] = s.nextStreamId();
            return new MetadataChange.CreateStream(node, id[0], epoch);
        }, s -> s.stream(id[0]).orElseThrow());
    }

    @Override
    public CompletableFuture<StreamMetadata> openStream(long streamId, long epoch, long epochStartOffset) {
        long node = registeredEpoch();
        return change(s -> new MetadataChange.OpenStream(node, streamId, epoch, epochStartOffset),
                s -> s.stream(streamId).orElseThrow(() -> new StreamNotFoundException(streamId)));
    }

    @Override
    public CompletableFuture<StreamMetadata> trimStream(long streamId, long epoch, long newStartOffset) {
        long node = registeredEpoch();
        return change(s -> new MetadataChange.TrimStream(node, streamId, epoch, newStartOffset),
                s -> s.stream(streamId).orElseThrow(() -> new StreamNotFoundException(streamId)));
    }

    @Override
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        long node = registeredEpoch();
        return change(s -> new MetadataChange.DeleteStream(node, streamId, epoch), s -> null);
    }

    @Override
    public CompletableFuture<Void> commitObjects(List<ObjectMetadata> objects, long walTrimPosition) {
        long node = registeredEpoch();
        List<ObjectMetadata> copy = List.copyOf(objects);
        return change(s -> new MetadataChange.CommitObjects(node, copy, walTrimPosition), s -> null);
    }

    @Override
    public CompletableFuture<Void> replaceObjects(List<String> removedKeys, List<ObjectMetadata> added) {
        long node = registeredEpoch();
        List<String> removed = List.copyOf(removedKeys);
        List<ObjectMetadata> copy = List.copyOf(added);
        return change(s -> new MetadataChange.ReplaceObjects(node, removed, copy), s -> null);
    }

    @Override
    public CompletableFuture<Void> deleteOrphans(List<String> keys) {
        long node = registeredEpoch();
        List<String> copy = List.copyOf(keys);
        return change(s -> new MetadataChange.DeleteOrphans(node, copy), s -> null);
    }

    @Override
    public Optional<StreamMetadata> stream(long streamId) {
        lock.readLock().lock();
        try {
            return state.stream(streamId);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<StreamMetadata> streams() {
        lock.readLock().lock();
        try {
            return new ArrayList<>(state.streams());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<Map.Entry<StreamRange, ObjectMetadata>> objectsCovering(long streamId, long startOffset, long endOffset) {
        lock.readLock().lock();
        try {
            return state.objectsCovering(streamId, startOffset, endOffset);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Collection<ObjectMetadata> objects() {
        lock.readLock().lock();
        try {
            return new ArrayList<>(state.objects());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long walTrimPosition() {
        lock.readLock().lock();
        try {
            return state.walTrimPosition();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Marks the store closed; later changes fail with {@link StreamClosedException}. */
    protected final void markClosed() {
        closed = true;
    }
}
