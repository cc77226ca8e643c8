package dev.strata.kafka;

import dev.strata.api.AppendResult;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/** Forwards to a store and records every fetch: which stream, from where, and what came back. Thread-safe. */
final class CountingStreamStore implements StreamStore {

    /** One fetch: the stream, the requested start, and the offsets and payload bytes of the batches returned. */
    record Fetch(long streamId, long startOffset, long firstBatchOffset, long nextOffset, long bytes) {
    }

    private final StreamStore delegate;
    final List<Fetch> fetches = new CopyOnWriteArrayList<>();

    CountingStreamStore(StreamStore delegate) {
        this.delegate = delegate;
    }

    List<Fetch> fetchesOf(long streamId) {
        return fetches.stream().filter(f -> f.streamId() == streamId).toList();
    }

    long bytesFetchedFrom(long streamId) {
        return fetchesOf(streamId).stream().mapToLong(Fetch::bytes).sum();
    }

    @Override
    public CompletableFuture<Stream> createStream(StreamOptions options) {
        return delegate.createStream(options).thenApply(Counting::new);
    }

    @Override
    public CompletableFuture<Stream> openStream(long streamId, long epoch) {
        return delegate.openStream(streamId, epoch).thenApply(Counting::new);
    }

    @Override
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        return delegate.deleteStream(streamId, epoch);
    }

    @Override
    public void close() {
        delegate.close();
    }

    private final class Counting implements Stream {
        private final Stream s;

        Counting(Stream s) {
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
            return s.fetch(startOffset, endOffset, maxBytes).thenApply(r -> {
                List<FetchedBatch> b = r.batches();
                fetches.add(new Fetch(s.id(), startOffset, b.isEmpty() ? -1 : b.get(0).baseOffset(), r.nextOffset(startOffset),
                        b.stream().mapToLong(FetchedBatch::sizeBytes).sum()));
                return r;
            });
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
