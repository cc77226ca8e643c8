package dev.strata.core.metadata;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.api.BackpressureException;
import dev.strata.api.StreamClosedException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part both metadata stores share: a {@link MetadataState} that only changes through
 * {@link MetadataState#apply}, changes group-committed in call order, and a local view read without
 * I/O.
 *
 * <h2>Group commit</h2>
 * A change call queues the change and returns. The writer (a serial executor) takes the queued
 * changes in call order and builds a {@link ChangeBatch}: each change is built from, and validated
 * against, the state the changes before it in the batch leave. A change that fails validation fails
 * alone, at once; the rest go on. The batch is {@link #persist persisted} as one log entry, applied,
 * and only then is each caller's future completed with its own result. While one entry is being
 * written, new changes queue up and go together in the next one, so the number of storage writes
 * follows the storage's latency, not the number of changes. A batch holds at most
 * {@link #MAX_BATCH_CHANGES} changes; changes other than create, open, trim and delete (node
 * registration, commits, replaces, orphans) go in an entry of their own (see {@link ChangeBatch}).
 *
 * <h2>Concurrency</h2>
 * {@code lock} guards {@code state}: the writer builds a batch under the read lock and applies it
 * under the write lock; readers take the read lock. Only the writer changes the state. Subclasses
 * may apply changes made by others (found while persisting) through {@link #applyFound}. Futures are
 * completed on the writer, outside the lock.
 *
 * <h2>Failure</h2>
 * A change that fails validation is not persisted. A batch whose persist fails is not applied
 * locally and all of its changes fail with the persist's exception; whether the entry reached the
 * backing storage is up to the subclass to settle (see {@link ManifestMetadataStore}). When more
 * than {@link #MAX_QUEUED_CHANGES} changes are waiting, a new one fails at once with
 * {@link BackpressureException} (nothing changed; retriable).
 *
 * <p>Public so that an implementation of the {@link MetadataStore} SPI outside this package (a
 * broker's own, say) can reuse the group commit by implementing {@link #persist}; it then runs the
 * same contract suite as the built-in stores ({@code MetadataStoreContractTest} in strata-core's
 * test-jar).
 */
public abstract class AbstractMetadataStore implements MetadataStore {

    /** Most changes waiting to be persisted (queued or in the batch being written): the queue's bound. */
    static final int MAX_QUEUED_CHANGES = 1 << 18;

    /** Most changes in one log entry (bounds an entry to about 200 KiB of stream changes). */
    static final int MAX_BATCH_CHANGES = 4096;

    /** Most times a batch is rebuilt after losing a race in a row before its changes fail. */
    private static final int MAX_REBUILDS = 16;

    private static final Logger LOG = LoggerFactory.getLogger(AbstractMetadataStore.class);

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Executor writer;
    /** Written by the writer only. */
    @GuardedBy("lock")
    private MetadataState state;
    private volatile long nodeEpoch = -1;
    private volatile boolean closed;
    /** Changes called for and not yet taken by the writer. */
    private final ConcurrentLinkedQueue<PendingChange> queue = new ConcurrentLinkedQueue<>();
    /** Changes whose future is not complete yet: the queue's bound counts these. */
    private final AtomicInteger waiting = new AtomicInteger();
    /** Writer only: changes taken from the queue and put back (lost race, or did not fit a batch); they go first. */
    private final ArrayDeque<PendingChange> carried = new ArrayDeque<>();
    /** Writer only: races lost in a row by the batch being written. */
    private int lostRaces;

    /** One change call: how to build the change from the batch it joins, and the caller's future. */
    private record PendingChange(Function<ChangeBatch, MetadataChange> build, CompletableFuture<StreamMetadata> future) {
    }

    /**
     * @param initial the state to start from (a new {@link MetadataState} for empty metadata)
     * @param writer runs the group commit, one task at a time (a serial executor)
     */
    protected AbstractMetadataStore(MetadataState initial, Executor writer) {
        this.state = initial;
        this.writer = writer;
    }

    /**
     * Makes {@code changes} durable, together, as version {@code version} of the metadata. Runs on the
     * writer. If another writer got there first, the subclass applies what it found (through
     * {@link #applyFound} or {@link #replaceState}) and returns {@code false}: the changes are then
     * rebuilt from the newer state, validated again (some may now be fenced) and retried.
     *
     * @param changes one change of any kind, or stream changes only; never empty
     * @return true once persisted; false if the state moved on and the changes must be rebuilt
     */
    protected abstract boolean persist(List<MetadataChange> changes, long version);

    /**
     * Called on the writer, without the lock, after this store applied one of its own log entries
     * (e.g. to write a snapshot). The writer is the only thread that changes {@code state}, so
     * reading it here is safe; it must not be kept or changed. The default does nothing.
     */
    protected void afterApply(MetadataState state) {
    }

    /** Applies a log entry some writer already persisted (found in the backing storage). */
    protected final void applyFound(List<MetadataChange> changes) {
        lock.writeLock().lock();
        try {
            state.apply(changes);
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

    /**
     * Queues one change and has the writer take it; the future completes once the change is applied
     * (with the stream's record after it, or null) or fails alone.
     */
    private CompletableFuture<StreamMetadata> change(Function<ChangeBatch, MetadataChange> build) {
        CompletableFuture<StreamMetadata> out = new CompletableFuture<>();
        if (closed) {
            out.completeExceptionally(new StreamClosedException("metadata store closed"));
            return out;
        }
        if (waiting.incrementAndGet() > MAX_QUEUED_CHANGES) {
            waiting.decrementAndGet();
            out.completeExceptionally(new BackpressureException("metadata changes waiting to be persisted reached the limit of "
                    + MAX_QUEUED_CHANGES + "; the metadata storage is not keeping up: retry later"));
            return out;
        }
        queue.add(new PendingChange(build, out));
        try {
            writer.execute(this::drain);
        } catch (RuntimeException rejected) {
            StreamClosedException closedFailure = new StreamClosedException("metadata store closed", rejected);
            for (PendingChange p; (p = queue.poll()) != null; ) {
                finish(p, null, closedFailure);
            }
        }
        return out;
    }

    /** Writer: persists queued changes, batch by batch, until none is left. */
    private void drain() {
        while (true) {
            List<Runnable> completions = new ArrayList<>();
            try {
                if (closed) {
                    StreamClosedException closedFailure = new StreamClosedException("metadata store closed");
                    for (PendingChange p; (p = nextPending()) != null; ) {
                        PendingChange failed = p;
                        completions.add(() -> finish(failed, null, closedFailure));
                    }
                    return;
                }
                if (!writeOneBatch(completions)) {
                    return;
                }
            } finally {
                completions.forEach(Runnable::run); // outside every lock, after the batch's bookkeeping
            }
        }
    }

    private PendingChange nextPending() {
        PendingChange p = carried.pollFirst();
        return p != null ? p : queue.poll();
    }

    /**
     * Writer: builds, persists and applies one batch; adds what completes each caller's future to
     * {@code completions}. Returns false if nothing was waiting.
     */
    private boolean writeOneBatch(List<Runnable> completions) {
        ChangeBatch batch;
        long version;
        List<PendingChange> members = new ArrayList<>();
        List<StreamMetadata> outcomes = new ArrayList<>();
        boolean any = false;
        lock.readLock().lock();
        try {
            batch = new ChangeBatch(state);
            version = state.version() + 1;
            while (batch.size() < MAX_BATCH_CHANGES) {
                PendingChange p = nextPending();
                if (p == null) {
                    break;
                }
                any = true;
                try {
                    MetadataChange change = p.build().apply(batch);
                    if (!batch.accepts(change)) {
                        carried.addFirst(p); // the first change of the next batch
                        break;
                    }
                    outcomes.add(batch.add(change));
                    members.add(p);
                } catch (RuntimeException invalid) {
                    completions.add(() -> finish(p, null, invalid)); // fails alone
                }
            }
        } finally {
            lock.readLock().unlock();
        }
        if (batch.isEmpty()) {
            return any;
        }
        List<MetadataChange> changes = batch.changes();
        boolean persisted;
        try {
            persisted = persist(changes, version);
        } catch (Throwable t) {
            lostRaces = 0;
            members.forEach(p -> completions.add(() -> finish(p, null, t)));
            return true;
        }
        if (!persisted) {
            if (++lostRaces > MAX_REBUILDS) {
                lostRaces = 0;
                IllegalStateException lost = new IllegalStateException("metadata change lost the race for the next manifest version "
                        + MAX_REBUILDS + " times in a row");
                members.forEach(p -> completions.add(() -> finish(p, null, lost)));
            } else {
                for (int i = members.size() - 1; i >= 0; i--) {
                    carried.addFirst(members.get(i)); // rebuilt, in call order, from the newer state
                }
            }
            return true;
        }
        lostRaces = 0;
        lock.writeLock().lock();
        try {
            state.apply(changes);
            for (MetadataChange change : changes) {
                if (change instanceof MetadataChange.RegisterNode r) {
                    nodeEpoch = r.nodeEpoch();
                }
            }
        } catch (RuntimeException e) {
            // validated against this very state a moment ago: a bug; the entry is stored, so the
            // next opener applies it, but this process's view is now behind
            LOG.error("metadata version {} was persisted but could not be applied locally", version, e);
            members.forEach(p -> completions.add(() -> finish(p, null, e)));
            return true;
        } finally {
            lock.writeLock().unlock();
        }
        try {
            afterApply(state);
        } catch (RuntimeException e) {
            LOG.warn("work after metadata version {} failed; the version is durable and applied", version, e);
        }
        for (int i = 0; i < members.size(); i++) {
            PendingChange p = members.get(i);
            StreamMetadata outcome = outcomes.get(i);
            completions.add(() -> finish(p, outcome, null));
        }
        return true;
    }

    private void finish(PendingChange p, StreamMetadata outcome, Throwable failure) {
        waiting.decrementAndGet();
        if (failure == null) {
            p.future().complete(outcome);
        } else {
            p.future().completeExceptionally(failure);
        }
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
        long[] registered = new long[1];
        return change(b -> {
            registered[0] = b.nodeEpoch() + 1;
            return new MetadataChange.RegisterNode(registered[0]);
        }).thenApply(none -> registered[0]);
    }

    @Override
    public long nodeEpoch() {
        return nodeEpoch;
    }

    @Override
    public CompletableFuture<StreamMetadata> createStream(long epoch, dev.strata.api.StreamLabels labels) {
        return createStream(epoch, labels, false);
    }

    @Override
    public CompletableFuture<StreamMetadata> createStream(long epoch, dev.strata.api.StreamLabels labels,
            boolean encrypted) {
        long node = registeredEpoch();
        return change(b -> new MetadataChange.CreateStream(node, b.nextStreamId(), epoch, labels, encrypted));
    }

    @Override
    public CompletableFuture<StreamMetadata> openStream(long streamId, long epoch, long epochStartOffset) {
        return openStream(streamId, epoch, epochStartOffset, StreamMetadata.NOT_ENCRYPTED);
    }

    @Override
    public CompletableFuture<StreamMetadata> openStream(long streamId, long epoch, long epochStartOffset,
            long encryptFrom) {
        long node = registeredEpoch();
        MetadataChange.OpenStream open = new MetadataChange.OpenStream(node, streamId, epoch, epochStartOffset,
                encryptFrom);
        return change(b -> open);
    }

    @Override
    public CompletableFuture<StreamMetadata> trimStream(long streamId, long epoch, long newStartOffset) {
        long node = registeredEpoch();
        MetadataChange.TrimStream trim = new MetadataChange.TrimStream(node, streamId, epoch, newStartOffset);
        return change(b -> trim);
    }

    @Override
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        long node = registeredEpoch();
        MetadataChange.DeleteStream delete = new MetadataChange.DeleteStream(node, streamId, epoch);
        return change(b -> delete).thenApply(none -> null);
    }

    @Override
    public CompletableFuture<Void> commitObjects(List<ObjectMetadata> objects, long walTrimPosition) {
        long node = registeredEpoch();
        MetadataChange.CommitObjects commit = new MetadataChange.CommitObjects(node, objects, walTrimPosition);
        return change(b -> commit).thenApply(none -> null);
    }

    @Override
    public CompletableFuture<Void> replaceObjects(List<String> removedKeys, List<ObjectMetadata> added) {
        long node = registeredEpoch();
        MetadataChange.ReplaceObjects replace = new MetadataChange.ReplaceObjects(node, removedKeys, added);
        return change(b -> replace).thenApply(none -> null);
    }

    @Override
    public CompletableFuture<Void> deleteOrphans(List<String> keys) {
        long node = registeredEpoch();
        MetadataChange.DeleteOrphans orphans = new MetadataChange.DeleteOrphans(node, keys);
        return change(b -> orphans).thenApply(none -> null);
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

    /**
     * Fails every change still queued with {@link StreamClosedException}: for {@code close()}, once
     * the writer stopped (or was given up on), so that no caller's future is left incomplete.
     */
    protected final void failQueued() {
        StreamClosedException closedFailure = new StreamClosedException("metadata store closed");
        for (PendingChange p; (p = queue.poll()) != null; ) {
            finish(p, null, closedFailure);
        }
    }

    /** Marks the store closed; later changes fail with {@link StreamClosedException}. */
    protected final void markClosed() {
        closed = true;
    }
}
