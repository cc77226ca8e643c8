package dev.strata.kafka;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Forwards to a store, but every fetch answers with payloads in direct buffers this store owns and
 * keeps writable ({@link #lastPayloads}), so a test can tell whether a reader still looks at that
 * memory (a change shows) or copied it, and counts fetch results not closed yet
 * ({@link #openFetches}). It can return at most {@link #maxBatchesPerFetch} batches per fetch (a
 * stream may return fewer than {@code maxBytes} allows) and fail the fetch after the next
 * {@link #failAfterFetches} ones. Thread-safe.
 */
final class OwnedBufferStore extends FetchInterceptingStore {
    private final AtomicInteger open = new AtomicInteger();
    /** The writable payload buffers of the last fetch, in batch order. */
    final List<ByteBuffer> lastPayloads = new CopyOnWriteArrayList<>();
    volatile int maxBatchesPerFetch = Integer.MAX_VALUE;
    /** Fetches that still succeed before one fails; negative: none fails. */
    final AtomicInteger failAfterFetches = new AtomicInteger(-1);

    OwnedBufferStore(StreamStore delegate) {
        super(delegate);
    }

    /** Fetch results handed out and not closed yet. */
    int openFetches() {
        return open.get();
    }

    @Override
    CompletableFuture<FetchResult> fetch(Stream s, long startOffset, long endOffset, int maxBytes) {
        if (failAfterFetches.getAndUpdate(n -> n < 0 ? n : n - 1) == 0) {
            return CompletableFuture.failedFuture(new IllegalStateException("injected fetch failure at " + startOffset));
        }
        return s.fetch(startOffset, endOffset, maxBytes).thenApply(r -> {
            List<FetchedBatch> out = new ArrayList<>();
            List<ByteBuffer> owned = new ArrayList<>();
            try (r) {
                for (FetchedBatch b : r.batches()) {
                    if (out.size() == maxBatchesPerFetch) {
                        break;
                    }
                    ByteBuffer copy = ByteBuffer.allocateDirect(b.sizeBytes()).put(b.payload()).flip();
                    owned.add(copy);
                    out.add(new FetchedBatch(b.baseOffset(), b.count(), b.baseTimestamp(), copy));
                }
            }
            lastPayloads.clear();
            lastPayloads.addAll(owned);
            open.incrementAndGet();
            AtomicBoolean closed = new AtomicBoolean();
            List<FetchedBatch> batches = List.copyOf(out);
            return new FetchResult() {
                @Override
                public List<FetchedBatch> batches() {
                    return batches;
                }

                @Override
                public void close() {
                    if (closed.compareAndSet(false, true)) {
                        open.decrementAndGet();
                    }
                }
            };
        });
    }
}
