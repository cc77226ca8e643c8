package dev.strata.kafka;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamStore;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/** Forwards to a store and records every fetch: which stream, from where, and what came back. Thread-safe. */
final class CountingStreamStore extends FetchInterceptingStore {

    /** One fetch: the stream, the requested start, and the offsets and payload bytes of the batches returned. */
    record Fetch(long streamId, long startOffset, long firstBatchOffset, long nextOffset, long bytes) {
    }

    final List<Fetch> fetches = new CopyOnWriteArrayList<>();

    CountingStreamStore(StreamStore delegate) {
        super(delegate);
    }

    List<Fetch> fetchesOf(long streamId) {
        return fetches.stream().filter(f -> f.streamId() == streamId).toList();
    }

    long bytesFetchedFrom(long streamId) {
        return fetchesOf(streamId).stream().mapToLong(Fetch::bytes).sum();
    }

    @Override
    CompletableFuture<FetchResult> fetch(Stream s, long startOffset, long endOffset, int maxBytes) {
        return s.fetch(startOffset, endOffset, maxBytes).thenApply(r -> {
            List<FetchedBatch> b = r.batches();
            fetches.add(new Fetch(s.id(), startOffset, b.isEmpty() ? -1 : b.get(0).baseOffset(), r.nextOffset(startOffset),
                    b.stream().mapToLong(FetchedBatch::sizeBytes).sum()));
            return r;
        });
    }
}
