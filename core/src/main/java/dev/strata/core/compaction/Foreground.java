package dev.strata.core.compaction;

/**
 * The foreground work compaction lets go first: before each read, the compactor waits (bounded)
 * while an upload runs (it frees WAL and cache space) and while users' catch-up reads from objects
 * are in flight. Each method returns whether it had to wait.
 */
public interface Foreground {

    /** Waits at most {@code maxNanos} while an upload is writing objects. */
    boolean awaitUploadIdle(long maxNanos);

    /** Waits at most {@code maxNanos} while catch-up reads from objects are in flight. */
    boolean awaitNoCatchUpReads(long maxNanos);
}
