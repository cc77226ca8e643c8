package dev.strata.core;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.RecordBatch;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link StreamStore} held entirely in memory, for users' own unit tests: same semantics as the
 * durable engine (it passes the same contract suite), no durability across processes.
 *
 * <p>Design: one lock (this store's monitor) guards every field and every stream's state. Each
 * call does a small amount of work under it and returns an already-completed future, so appends
 * trivially complete in offset order. Payloads are copied at append, so callers may reuse their
 * buffers as soon as the call returns.
 *
 * <p>Bounded: a batch larger than {@code maxBatchBytes} fails with
 * {@link RecordTooLargeException}; an append that would hold more than {@code maxStoredBytes} of
 * payload in total (trimmed batches are freed) fails with {@link BackpressureException}.
 *
 * <p>Thread-safe.
 */
public final class MemoryStreamStore implements StreamStore {

    /** Default largest batch payload: 1 MiB, the engine's default too. */
    public static final int DEFAULT_MAX_BATCH_BYTES = 1 << 20;

    /** Default bound on payload bytes held: 256 MiB, plenty for unit tests. */
    public static final long DEFAULT_MAX_STORED_BYTES = 256L << 20;

    private final int maxBatchBytes;
    private final long maxStoredBytes;

    @GuardedBy("this")
    private final Map<Long, StreamState> streams = new HashMap<>();
    @GuardedBy("this")
    private long nextStreamId = 1;
    @GuardedBy("this")
    private long storedBytes;
    @GuardedBy("this")
    private boolean closed;

    /** A store with the default limits. */
    public MemoryStreamStore() {
        this(DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_STORED_BYTES);
    }

    /**
     * @param maxBatchBytes largest payload of one batch, at least 1
     * @param maxStoredBytes largest total payload held, at least {@code maxBatchBytes}
     * @throws IllegalArgumentException if a limit is out of range
     */
    public MemoryStreamStore(int maxBatchBytes, long maxStoredBytes) {
        if (maxBatchBytes < 1) {
            throw new IllegalArgumentException("maxBatchBytes must be >= 1, got " + maxBatchBytes);
        }
        if (maxStoredBytes < maxBatchBytes) {
            throw new IllegalArgumentException("maxStoredBytes must be >= maxBatchBytes (" + maxBatchBytes
                    + "), got " + maxStoredBytes);
        }
        this.maxBatchBytes = maxBatchBytes;
        this.maxStoredBytes = maxStoredBytes;
    }

    @Override
    public CompletableFuture<Stream> createStream(StreamOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(storeClosed());
            }
            StreamState state = new StreamState(nextStreamId++, options.epoch(), options.labels());
            streams.put(state.id, state);
            return CompletableFuture.completedFuture(state.openHandle(options.epoch()));
        }
    }

    @Override
    public CompletableFuture<java.util.List<dev.strata.api.StreamInfo>> listStreams(dev.strata.api.StreamFilter filter) {
        if (filter == null) {
            throw new IllegalArgumentException("filter must not be null (use StreamFilter.all())");
        }
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(storeClosed());
            }
            return CompletableFuture.completedFuture(streams.values().stream()
                    .filter(s -> filter.matches(s.labels))
                    .sorted(java.util.Comparator.comparingLong(s -> s.id))
                    .map(s -> new dev.strata.api.StreamInfo(s.id, s.epoch, s.startOffset, s.nextOffset, s.labels))
                    .toList());
        }
    }

    @Override
    public CompletableFuture<Stream> openStream(long streamId, long epoch) {
        requireEpoch(epoch);
        synchronized (this) {
            RuntimeException refused = refusal(streamId, epoch, "open");
            if (refused != null) {
                return CompletableFuture.failedFuture(refused);
            }
            StreamState state = streams.get(streamId);
            if (epoch == state.epoch && state.holder != null && !state.holder.closed) {
                return CompletableFuture.failedFuture(new StreamFencedException(
                        "stream already open at this epoch: streamId=" + streamId + " epoch=" + epoch));
            }
            return CompletableFuture.completedFuture(state.openHandle(epoch));
        }
    }

    @Override
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        requireEpoch(epoch);
        synchronized (this) {
            RuntimeException refused = refusal(streamId, epoch, "delete");
            if (refused != null) {
                return CompletableFuture.failedFuture(refused);
            }
            StreamState state = streams.remove(streamId);
            state.deleted = true;
            storedBytes -= state.bytes;
            state.batches.clear();
            state.bytes = 0;
            return CompletableFuture.completedFuture(null);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
    }

    /** Payload bytes currently held (trimmed and deleted data excluded). */
    public synchronized long storedBytes() {
        return storedBytes;
    }

    /** Why {@code what} (open or delete) of {@code streamId} at {@code epoch} is refused, or null. */
    @GuardedBy("this")
    private RuntimeException refusal(long streamId, long epoch, String what) {
        if (closed) {
            return storeClosed();
        }
        StreamState state = streams.get(streamId);
        if (state == null) {
            return new StreamNotFoundException(streamId);
        }
        if (epoch < state.epoch) {
            return new StreamFencedException(what + " with stale epoch: streamId=" + streamId + " epoch=" + epoch
                    + " storedEpoch=" + state.epoch);
        }
        return null;
    }

    private static void requireEpoch(long epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
    }

    private static StreamClosedException storeClosed() {
        return new StreamClosedException("store closed");
    }

    private record StoredBatch(long baseOffset, int count, long baseTimestamp, byte[] payload) {
        long nextOffset() {
            return baseOffset + count;
        }
    }

    /**
     * One stream's data and ownership. Guarded by the store's monitor (not {@code @GuardedBy}: Error
     * Prone cannot tie the enclosing instance of a {@code state} read in the store to {@code this}).
     */
    private final class StreamState {
        final long id;
        final dev.strata.api.StreamLabels labels;
        long epoch;
        long startOffset;
        long nextOffset;
        long bytes;
        boolean deleted;
        Handle holder;
        final NavigableMap<Long, StoredBatch> batches = new TreeMap<>();

        StreamState(long id, long epoch, dev.strata.api.StreamLabels labels) {
            this.id = id;
            this.epoch = epoch;
            this.labels = labels;
        }

        Handle openHandle(long newEpoch) {
            epoch = newEpoch;
            holder = new Handle(this, newEpoch);
            return holder;
        }
    }

    /** A handle at one epoch; fenced once another handle replaced it as holder. */
    private final class Handle implements Stream {
        private final StreamState state;
        private final long epoch;
        // guarded by: MemoryStreamStore.this (not @GuardedBy: Error Prone cannot tie the enclosing instance of
        // state.holder, read in openStream, to the store's monitor)
        private boolean closed;

        Handle(StreamState state, long epoch) {
            this.state = state;
            this.epoch = epoch;
        }

        @Override
        public long id() {
            return state.id;
        }

        @Override
        public long epoch() {
            return epoch;
        }

        @Override
        public long startOffset() {
            synchronized (MemoryStreamStore.this) {
                return state.startOffset;
            }
        }

        @Override
        public long nextOffset() {
            synchronized (MemoryStreamStore.this) {
                return state.nextOffset;
            }
        }

        /** Why this handle may not act, or null. Caller holds the store's monitor. */
        @GuardedBy("MemoryStreamStore.this")
        private RuntimeException refusal(boolean writing) {
            if (MemoryStreamStore.this.closed) {
                return storeClosed();
            }
            if (closed) {
                return new StreamClosedException("stream closed: streamId=" + state.id);
            }
            if (state.deleted) {
                return new StreamNotFoundException(state.id);
            }
            if (writing && state.holder != this) {
                return new StreamFencedException("stream fenced: streamId=" + state.id + " epoch=" + epoch
                        + " currentEpoch=" + state.epoch);
            }
            return null;
        }

        @Override
        public CompletableFuture<AppendResult> append(RecordBatch batch) {
            if (batch == null) {
                throw new IllegalArgumentException("batch must not be null");
            }
            if (batch.sizeBytes() > maxBatchBytes) {
                return CompletableFuture.failedFuture(new RecordTooLargeException(batch.sizeBytes(), maxBatchBytes));
            }
            byte[] copy = new byte[batch.sizeBytes()];
            batch.payload().get(copy);
            synchronized (MemoryStreamStore.this) {
                RuntimeException refused = refusal(true);
                if (refused != null) {
                    return CompletableFuture.failedFuture(refused);
                }
                if (storedBytes + copy.length > maxStoredBytes) {
                    return CompletableFuture.failedFuture(new BackpressureException("memory store full: storedBytes="
                            + storedBytes + " batchBytes=" + copy.length + " maxStoredBytes=" + maxStoredBytes));
                }
                long base = state.nextOffset;
                state.batches.put(base, new StoredBatch(base, batch.count(), batch.baseTimestamp(), copy));
                state.nextOffset = base + batch.count();
                state.bytes += copy.length;
                storedBytes += copy.length;
                return CompletableFuture.completedFuture(new AppendResult(base));
            }
        }

        @Override
        public CompletableFuture<FetchResult> fetch(long startOffset, long endOffset, int maxBytes) {
            if (startOffset < 0 || endOffset < startOffset || maxBytes < 0) {
                throw new IllegalArgumentException("invalid fetch range: startOffset=" + startOffset
                        + " endOffset=" + endOffset + " maxBytes=" + maxBytes);
            }
            synchronized (MemoryStreamStore.this) {
                RuntimeException refused = refusal(false);
                if (refused != null) {
                    return CompletableFuture.failedFuture(refused);
                }
                if (startOffset < state.startOffset || startOffset > state.nextOffset) {
                    return CompletableFuture.failedFuture(new OffsetOutOfRangeException(
                            state.id, startOffset, state.startOffset, state.nextOffset));
                }
                List<FetchedBatch> out = new ArrayList<>();
                if (endOffset > startOffset) {
                    Long from = state.batches.floorKey(startOffset);
                    long bytes = 0;
                    for (StoredBatch b : state.batches.tailMap(from == null ? startOffset : from, true).values()) {
                        if (b.nextOffset() <= startOffset) {
                            continue;
                        }
                        if (b.baseOffset() >= endOffset || (!out.isEmpty() && bytes + b.payload().length > maxBytes)) {
                            break;
                        }
                        out.add(new FetchedBatch(b.baseOffset(), b.count(), b.baseTimestamp(), ByteBuffer.wrap(b.payload())));
                        bytes += b.payload().length;
                    }
                }
                return CompletableFuture.completedFuture(FetchResult.of(out));
            }
        }

        @Override
        public CompletableFuture<Void> trim(long newStartOffset) {
            if (newStartOffset < 0) {
                throw new IllegalArgumentException("newStartOffset must be >= 0, got " + newStartOffset);
            }
            synchronized (MemoryStreamStore.this) {
                RuntimeException refused = refusal(true);
                if (refused != null) {
                    return CompletableFuture.failedFuture(refused);
                }
                if (newStartOffset > state.nextOffset) {
                    return CompletableFuture.failedFuture(new OffsetOutOfRangeException(
                            state.id, newStartOffset, state.startOffset, state.nextOffset));
                }
                if (newStartOffset > state.startOffset) {
                    state.startOffset = newStartOffset;
                    // Free batches that lie wholly below the new start.
                    while (!state.batches.isEmpty() && state.batches.firstEntry().getValue().nextOffset() <= newStartOffset) {
                        StoredBatch dropped = state.batches.pollFirstEntry().getValue();
                        state.bytes -= dropped.payload().length;
                        storedBytes -= dropped.payload().length;
                    }
                }
                return CompletableFuture.completedFuture(null);
            }
        }

        @Override
        public CompletableFuture<Void> close() {
            synchronized (MemoryStreamStore.this) {
                closed = true;
                return CompletableFuture.completedFuture(null);
            }
        }
    }
}
