package dev.strata.core;

/**
 * What this process knows about one stream while it is open or holds unuploaded data: offsets,
 * the current holder, and whether appends are refused after a failure. Outlives handles: a
 * re-open in the same process continues from it.
 *
 * <p>Guarded by its own monitor ({@code synchronized (state)}); the offsets are also volatile so
 * that {@code startOffset()}/{@code nextOffset()} read without locking.
 */
final class StreamState {
    final long id;
    final SerialExecutor completions;

    // guarded by: this
    long epoch;
    // guarded by: this
    DefaultStream holder;
    /** Next offset to assign: above {@link #ackedEnd} while appends are in flight. Guarded by: this. */
    long assignedEnd;
    /** End (exclusive) of acknowledged data. Written under the monitor. */
    volatile long ackedEnd;
    volatile long startOffset;
    // guarded by: this; non-null once an in-flight append failed: later appends fail until re-open
    Throwable failure;
    /** Appends handed to the WAL whose completion has not been handled yet. Guarded by: this. */
    int inFlight;
    volatile boolean deleted;

    StreamState(long id, long epoch, long startOffset, long nextOffset, SerialExecutor completions) {
        this.id = id;
        this.epoch = epoch;
        this.startOffset = startOffset;
        this.assignedEnd = nextOffset;
        this.ackedEnd = nextOffset;
        this.completions = completions;
    }
}
