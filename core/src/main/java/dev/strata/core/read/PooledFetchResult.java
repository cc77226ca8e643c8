package dev.strata.core.read;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import java.util.List;

/**
 * A fetch result whose payloads are views of pooled buffers; closing it releases them (once).
 * Not thread-safe for concurrent close (as {@link FetchResult} states).
 */
final class PooledFetchResult implements FetchResult {
    private final List<FetchedBatch> batches;
    private AutoCloseable resources;

    PooledFetchResult(List<FetchedBatch> batches, AutoCloseable resources) {
        this.batches = List.copyOf(batches);
        this.resources = resources;
    }

    @Override
    public List<FetchedBatch> batches() {
        return batches;
    }

    @Override
    public void close() {
        AutoCloseable r = resources;
        resources = null;
        if (r != null) {
            try {
                r.close();
            } catch (Exception e) {
                throw new IllegalStateException("releasing fetch buffers failed", e);
            }
        }
    }
}
