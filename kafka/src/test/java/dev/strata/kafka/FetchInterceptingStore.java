package dev.strata.kafka;

import dev.strata.api.AppendResult;
import dev.strata.api.FetchResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.util.concurrent.CompletableFuture;

/**
 * Forwards everything to a store, except that each stream's fetches go through {@link #fetch}: the
 * one place a test wrapper changes. Thread-safe if {@link #fetch} is.
 */
abstract class FetchInterceptingStore implements StreamStore {
    private final StreamStore delegate;

    FetchInterceptingStore(StreamStore delegate) {
        this.delegate = delegate;
    }

    /** A fetch of {@code stream}; {@code stream.fetch(...)} is the store's own answer. */
    abstract CompletableFuture<FetchResult> fetch(Stream stream, long startOffset, long endOffset, int maxBytes);

    @Override
    public CompletableFuture<Stream> createStream(StreamOptions options) {
        return delegate.createStream(options).thenApply(Intercepted::new);
    }

    @Override
    public CompletableFuture<Stream> openStream(long streamId, long epoch) {
        return delegate.openStream(streamId, epoch).thenApply(Intercepted::new);
    }

    @Override
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        return delegate.deleteStream(streamId, epoch);
    }

    @Override
    public CompletableFuture<java.util.List<dev.strata.api.StreamInfo>> listStreams(dev.strata.api.StreamFilter filter) {
        return delegate.listStreams(filter);
    }

    @Override
    public void close() {
        delegate.close();
    }

    private final class Intercepted implements Stream {
        private final Stream s;

        Intercepted(Stream s) {
            this.s = s;
        }

        @Override
        public long id() {
            return s.id();
        }

        @Override
        public long epoch() {
            return s.epoch();
        }

        @Override
        public long startOffset() {
            return s.startOffset();
        }

        @Override
        public long nextOffset() {
            return s.nextOffset();
        }

        @Override
        public CompletableFuture<AppendResult> append(RecordBatch batch) {
            return s.append(batch);
        }

        @Override
        public CompletableFuture<FetchResult> fetch(long startOffset, long endOffset, int maxBytes) {
            return FetchInterceptingStore.this.fetch(s, startOffset, endOffset, maxBytes);
        }

        @Override
        public CompletableFuture<Void> trim(long newStartOffset) {
            return s.trim(newStartOffset);
        }

        @Override
        public CompletableFuture<Void> close() {
            return s.close();
        }
    }
}
