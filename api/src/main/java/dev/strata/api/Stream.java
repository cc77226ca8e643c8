package dev.strata.api;

import java.util.concurrent.CompletableFuture;

/**
 * A handle on one open stream: an ordered log of record batches addressed by offset, held by one
 * owner at one epoch.
 *
 * <h2>Semantics</h2>
 * <ul>
 *   <li><b>Offsets.</b> A batch of {@code count} records is assigned the offsets
 *       {@code [base, base + count)}, contiguous with the previous batch. The first batch of a new
 *       stream gets base 0.</li>
 *   <li><b>Append.</b> The future completes after the batch is durable (in the write-ahead log).
 *       Appends to one stream complete in offset order: when a future completes, every append
 *       with a lower offset has completed. A failed append fails every later in-flight append of
 *       this stream (no holes), and the handle then refuses appends with
 *       {@link StreamClosedException} until the stream is re-opened.</li>
 *   <li><b>Fetch.</b> {@code fetch(start, end, maxBytes)} returns whole batches in order: those that
 *       overlap {@code [start, end)}, beginning with the batch that contains {@code start} (which
 *       may begin below {@code start}). It returns at least one batch if one exists at {@code start}, even if
 *       that batch is larger than {@code maxBytes}; after the first batch it stops before exceeding
 *       {@code maxBytes} of payload. A fetch at exactly {@link #nextOffset()} returns an empty result
 *       (tailing readers poll there).</li>
 *   <li><b>Trim.</b> {@code trim(newStart)} moves the start offset forward; data below it is no
 *       longer readable and its storage is reclaimed later.</li>
 *   <li><b>Fencing.</b> Opening the stream with a higher epoch elsewhere fences this handle: its
 *       appends and trims fail with {@link StreamFencedException} and nothing it writes after
 *       fencing becomes visible.</li>
 * </ul>
 *
 * <h2>Thread-safety</h2>
 * All methods are thread-safe. Concurrent appends from several threads are ordered by the order in
 * which they take the stream's lock inside {@link #append}.
 *
 * <h2>Failures</h2>
 * Asynchronous failures are delivered through the returned future (never thrown), as one of the
 * {@link StrataException} subclasses named on each method. Invalid arguments are thrown at once as
 * {@link IllegalArgumentException}.
 */
public interface Stream {

    /** The stream's id, unique within its store. */
    long id();

    /** The epoch this handle was opened with. */
    long epoch();

    /** The first readable offset; moves forward with {@link #trim}. */
    long startOffset();

    /** The end (exclusive) of acknowledged data: the offset the next batch will receive once acknowledged. */
    long nextOffset();

    /**
     * Appends a batch and completes once it is durable.
     *
     * @param batch the batch; its payload must not change until the future completes
     * @return the batch's base offset; fails with {@link StreamFencedException},
     *     {@link StreamClosedException}, {@link StreamNotFoundException} (deleted),
     *     {@link RecordTooLargeException}, {@link BackpressureException} (retriable) or
     *     {@link StorageException}
     * @throws IllegalArgumentException if {@code batch} is null
     */
    CompletableFuture<AppendResult> append(RecordBatch batch);

    /**
     * Reads batches from {@code startOffset} (see the class comment for the exact boundaries). The
     * caller must close the result.
     *
     * @param startOffset first offset wanted; must lie in {@code [startOffset(), nextOffset()]}
     * @param endOffset end (exclusive) of the wanted range; batches whose base is at or above it
     *     are not returned, and {@code endOffset == startOffset} gives an empty result; may exceed
     *     {@link #nextOffset()} ({@code Long.MAX_VALUE} reads to the end)
     * @param maxBytes soft limit of payload bytes; at least one batch is returned if one exists
     * @return the batches; fails with {@link OffsetOutOfRangeException},
     *     {@link StreamClosedException}, {@link StreamNotFoundException},
     *     {@link CorruptDataException}, {@link BackpressureException} or {@link StorageException}
     * @throws IllegalArgumentException if {@code endOffset < startOffset}, {@code startOffset < 0}
     *     or {@code maxBytes < 0}
     */
    CompletableFuture<FetchResult> fetch(long startOffset, long endOffset, int maxBytes);

    /**
     * Moves the start offset forward to {@code newStartOffset}. A value at or below the current
     * start offset changes nothing (so retries are harmless).
     *
     * @return completes when the new start offset is durable; fails with
     *     {@link OffsetOutOfRangeException} if {@code newStartOffset > nextOffset()},
     *     {@link StreamFencedException}, {@link StreamClosedException},
     *     {@link StreamNotFoundException} or {@link StorageException}
     * @throws IllegalArgumentException if {@code newStartOffset < 0}
     */
    CompletableFuture<Void> trim(long newStartOffset);

    /**
     * Closes this handle: later calls fail with {@link StreamClosedException}. Appends already
     * acknowledged stay durable; appends in flight either complete or fail. Idempotent.
     */
    CompletableFuture<Void> close();
}
