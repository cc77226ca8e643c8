package dev.strata.core.support;

import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store-wide signals every component reads and some set: closed, fenced by a newer process, and
 * "room was freed" (LogCache or WAL space) for appends waiting under backpressure. Components get
 * this instead of the store: the append path and stream handles read closed and fenced, the uploader
 * and the compactor fence and free room.
 *
 * <p>Thread-safe: the flags are volatile and only ever go from unset to set; room waits use a
 * {@link WaitSignal}.
 */
public final class StoreState {
    private static final Logger LOG = LoggerFactory.getLogger(StoreState.class);

    private final WaitSignal room = new WaitSignal();
    private volatile boolean closed;
    /** Set when a newer process took over the store's metadata: every write then fails fenced. */
    private volatile Throwable fencedBy;

    /** Whether the store was closed. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Marks the store closed; returns false if it was closed already. The caller makes this atomic
     * with the append hand-off ({@code IngestLedger#exclusive}), then wakes appends waiting for room
     * ({@link #roomFreed}: they fail now).
     */
    public boolean markClosed() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    /** The reason this store was fenced by a newer process, or null. */
    public Throwable fencedBy() {
        return fencedBy;
    }

    /** A newer process registered on the same metadata: refuse every later write. */
    public void fence(Throwable cause) {
        if (fencedBy == null) {
            fencedBy = cause;
            LOG.error("store fenced by a newer process; appends and trims now fail: {}", cause.toString());
        }
    }

    /** LogCache or WAL space was freed (an upload committed, a reservation was cancelled, the WAL trimmed). */
    public void roomFreed() {
        room.signalAll();
    }

    /**
     * Waits at most {@code timeoutNanos} until {@code hasRoom} is true or the store is closed;
     * returns whether {@code hasRoom} is true.
     */
    public boolean awaitRoom(BooleanSupplier hasRoom, long timeoutNanos) {
        room.await(() -> closed || hasRoom.getAsBoolean(), timeoutNanos);
        return hasRoom.getAsBoolean();
    }
}
