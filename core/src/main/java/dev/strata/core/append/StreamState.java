package dev.strata.core.append;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What this process knows about one stream while it is open or holds unuploaded data: offsets,
 * the current holder, and whether appends are refused after a failure. Outlives handles: a
 * re-open in the same process continues from it.
 *
 * <p>Guarded by its own monitor ({@code synchronized (state)}), except what the append completions
 * write: they run one at a time per stream, in offset order, without the monitor (see
 * {@code DefaultStreamStore}), so {@link #ackedEnd} and {@link #failure} are volatile and
 * {@link #inFlight} is atomic. The offsets are volatile also so that
 * {@code startOffset()}/{@code nextOffset()} read without locking. The guarded fields carry comments,
 * not {@code @GuardedBy}: AppendPath and StreamRegistry hold the monitor through a local variable
 * while calling {@code DefaultStream.refusal}, which Error Prone cannot relate to the handle's field.
 */
final class StreamState {
    final long id;
    final SerialExecutor completions;
    /** The stream's tenant (set at creation, never changed), or null; decides whether its appends are encrypted. */
    final String tenant;

    // guarded by: this
    long epoch;
    // guarded by: this
    DefaultStream holder;
    /** Next offset to assign: above {@link #ackedEnd} while appends are in flight. Guarded by: this. */
    long assignedEnd;
    /** End (exclusive) of acknowledged data. Written by the completions (and by recovery). */
    volatile long ackedEnd;
    volatile long startOffset;
    /**
     * Non-null once an in-flight append failed: later appends fail until re-open. Set by a
     * completion; cleared by a re-open under the monitor when no append is in flight.
     */
    volatile Throwable failure;
    /**
     * Appends handed to the WAL whose completion has not been handled yet: incremented under the
     * monitor at the hand-off, decremented by the completion after all its other effects.
     */
    final AtomicInteger inFlight = new AtomicInteger();
    volatile boolean deleted;
    /**
     * Whether the metadata says the stream is encrypted (from some offset on): every append to it is
     * then encrypted, whatever the store's tenant predicate says now, or refused without a key provider.
     */
    volatile boolean encrypted;

    StreamState(long id, long epoch, long startOffset, long nextOffset, SerialExecutor completions, String tenant) {
        this.id = id;
        this.tenant = tenant;
        this.epoch = epoch;
        this.startOffset = startOffset;
        this.assignedEnd = nextOffset;
        this.ackedEnd = nextOffset;
        this.completions = completions;
    }
}
