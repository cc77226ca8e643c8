package dev.strata.core.append;

import dev.strata.core.read.FetchPath;
import dev.strata.core.support.StoreState;
import dev.strata.api.AppendResult;
import dev.strata.api.FetchResult;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.RecordBatch;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import java.util.concurrent.CompletableFuture;

/**
 * A handle on one stream at one epoch; appends go to the {@link AppendPath}, fetches to the
 * {@link FetchPath}, trims to the {@link StreamRegistry}. A handle is fenced once another handle
 * replaced it as the stream's holder.
 *
 * <p>Thread-safe: checks run under the stream state's monitor.
 */
final class DefaultStream implements Stream {
    private final StreamState state;
    private final long epoch;
    private final StoreState store;
    private final AppendPath appends;
    private final FetchPath fetches;
    private final StreamRegistry streams;
    private volatile boolean closed;

    DefaultStream(StreamState state, long epoch, StoreState store, AppendPath appends, FetchPath fetches,
            StreamRegistry streams) {
        this.state = state;
        this.epoch = epoch;
        this.store = store;
        this.appends = appends;
        this.fetches = fetches;
        this.streams = streams;
    }

    StreamState state() {
        return state;
    }

    boolean isClosed() {
        return closed;
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
        return state.startOffset;
    }

    @Override
    public long nextOffset() {
        return state.ackedEnd;
    }

    /**
     * Why this handle may not act now, or null. {@code writing}: appends and trims also need this
     * handle to be the holder and the stream not failed. Caller holds the state's monitor.
     */
    RuntimeException refusal(boolean writing) {
        if (store.isClosed()) {
            return new StreamClosedException("store closed");
        }
        if (closed) {
            return new StreamClosedException("stream closed: streamId=" + state.id);
        }
        if (state.deleted) {
            return new StreamNotFoundException(state.id);
        }
        if (writing && store.fencedBy() != null) {
            return new StreamFencedException("store fenced by a newer process: streamId=" + state.id, store.fencedBy());
        }
        if (writing && state.holder != this) {
            return new StreamFencedException("stream fenced: streamId=" + state.id + " epoch=" + epoch
                    + " currentEpoch=" + state.epoch);
        }
        if (writing && state.failure != null) {
            return new StreamClosedException("stream refuses appends after an earlier append failed; re-open it: streamId="
                    + state.id, state.failure);
        }
        return null;
    }

    @Override
    public CompletableFuture<AppendResult> append(RecordBatch batch) {
        if (batch == null) {
            throw new IllegalArgumentException("batch must not be null");
        }
        int max = appends.maxPayloadBytes(state);
        if (batch.sizeBytes() > max) {
            return CompletableFuture.failedFuture(new RecordTooLargeException(batch.sizeBytes(), max));
        }
        return appends.append(this, batch);
    }

    @Override
    public CompletableFuture<FetchResult> fetch(long startOffset, long endOffset, int maxBytes) {
        if (startOffset < 0 || endOffset < startOffset || maxBytes < 0) {
            throw new IllegalArgumentException("invalid fetch range: startOffset=" + startOffset
                    + " endOffset=" + endOffset + " maxBytes=" + maxBytes);
        }
        RuntimeException refused;
        synchronized (state) {
            refused = refusal(false);
        }
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        long start = state.startOffset;
        long next = state.ackedEnd;
        if (startOffset < start || startOffset > next) {
            return CompletableFuture.failedFuture(new OffsetOutOfRangeException(state.id, startOffset, start, next));
        }
        if (startOffset == next || endOffset == startOffset) {
            return CompletableFuture.completedFuture(FetchResult.empty());
        }
        return fetches.fetch(state.id, startOffset, Math.min(endOffset, next), maxBytes);
    }

    @Override
    public CompletableFuture<Void> trim(long newStartOffset) {
        if (newStartOffset < 0) {
            throw new IllegalArgumentException("newStartOffset must be >= 0, got " + newStartOffset);
        }
        return streams.trim(this, newStartOffset);
    }

    @Override
    public CompletableFuture<Void> close() {
        closed = true;
        return CompletableFuture.completedFuture(null);
    }
}
