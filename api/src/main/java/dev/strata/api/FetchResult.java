package dev.strata.api;

import java.util.List;

/**
 * Batches returned by {@link Stream#fetch}, in offset order, contiguous. Close it when done: the
 * payloads may live in pooled memory that closing returns. After {@code close()} the payload
 * buffers must not be read.
 *
 * <p>Not thread-safe for concurrent close; reading the batches from several threads before
 * closing is fine. {@code close()} is idempotent and never throws.
 */
public interface FetchResult extends AutoCloseable {

    /** The batches, in offset order; empty when the fetch started at the stream's end. */
    List<FetchedBatch> batches();

    /** Releases pooled memory behind the payloads; idempotent. */
    @Override
    void close();

    /** True when no batch was returned. */
    default boolean isEmpty() {
        return batches().isEmpty();
    }

    /**
     * Offset after the last returned batch, or {@code fallback} when empty: where the next fetch of
     * a sequential reader starts.
     */
    default long nextOffset(long fallback) {
        List<FetchedBatch> b = batches();
        return b.isEmpty() ? fallback : b.get(b.size() - 1).nextOffset();
    }

    /** A result over heap batches with nothing to release. */
    static FetchResult of(List<FetchedBatch> batches) {
        List<FetchedBatch> copy = List.copyOf(batches);
        return new FetchResult() {
            @Override
            public List<FetchedBatch> batches() {
                return copy;
            }

            @Override
            public void close() {
            }
        };
    }

    /** The empty result. */
    static FetchResult empty() {
        return of(List.of());
    }
}
