package dev.strata.api;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A store of many streams. Entry point of the API; obtain one from an implementation (for example
 * {@code dev.strata.core.Strata.builder()...build()}, or {@code MemoryStreamStore} for tests).
 *
 * <h2>Epochs</h2>
 * Every open of a stream carries an epoch. Opening with a higher epoch than the stored one fences
 * the previous holder (see {@link Stream}). Opening with a lower epoch fails with
 * {@link StreamFencedException}. The same epoch may re-open a stream that no live holder has open
 * (after a close or a restart); while a live handle holds it at that epoch, the open fails with
 * {@link StreamFencedException}.
 *
 * <h2>Recovery</h2>
 * After a crash, building the store again on the same storage replays what was acknowledged: every
 * acknowledged batch is readable again, at the same offsets, exactly once.
 *
 * <h2>Thread-safety</h2>
 * All methods are thread-safe. Failures are delivered through the returned futures as
 * {@link StrataException} subclasses; after {@link #close()} every method fails with
 * {@link StreamClosedException}.
 */
public interface StreamStore extends AutoCloseable {

    /**
     * Creates a new, empty stream with a fresh id (start and next offset 0) and opens it at
     * {@code options.epoch()}. Ids are assigned in creation order: the first stream created in an
     * empty store gets id 1, each later one the next id, and an id is never given again (not after
     * its stream is deleted, not after a restart). An application may rely on this to find its own
     * first stream (a catalog of its other streams) without storing the id elsewhere.
     *
     * @return the open stream; fails with {@link StorageException} or {@link StreamClosedException}
     * @throws IllegalArgumentException if {@code options} is null
     */
    CompletableFuture<Stream> createStream(StreamOptions options);

    /**
     * Opens an existing stream at {@code epoch}, fencing any holder with a lower epoch.
     *
     * @return the open stream; fails with {@link StreamNotFoundException},
     *     {@link StreamFencedException} (epoch lower than stored, or same epoch held by a live handle),
     *     {@link StorageException} or {@link StreamClosedException}
     * @throws IllegalArgumentException if {@code epoch < 0}
     */
    CompletableFuture<Stream> openStream(long streamId, long epoch);

    /**
     * Deletes a stream and, in time, all its data. Handles on it fail later calls with
     * {@link StreamNotFoundException}.
     *
     * @return fails with {@link StreamNotFoundException}, {@link StreamFencedException} (epoch
     *     lower than stored), {@link StorageException} or {@link StreamClosedException}
     * @throws IllegalArgumentException if {@code epoch < 0}
     */
    CompletableFuture<Void> deleteStream(long streamId, long epoch);

    /**
     * Lists the streams {@code filter} selects (by tenant and tags, see {@link StreamLabels}), in id
     * order; deleted streams are not listed. A snapshot: streams created or deleted concurrently
     * may or may not be in it.
     *
     * @return the streams; fails with {@link StreamClosedException}
     * @throws IllegalArgumentException if {@code filter} is null
     */
    CompletableFuture<List<StreamInfo>> listStreams(StreamFilter filter);

    /**
     * Closes every open stream and releases resources. Acknowledged data stays durable. Idempotent.
     */
    @Override
    void close();
}
