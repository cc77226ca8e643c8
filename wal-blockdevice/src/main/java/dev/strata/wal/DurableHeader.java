package dev.strata.wal;

import dev.strata.api.StorageException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The WAL's last durable header and the changes to it after open: trim requests, made durable by
 * the writer thread ({@link #writeTrim}), and the clean-close mark. The trim point is made durable
 * (header write + sync) before any space below it is reused, so recovery never starts at a position
 * whose data was already overwritten; appends are admitted against {@link #trimPosition()}, the
 * durable one, never against a requested one.
 *
 * <p>Concurrency: not thread-safe on its own; every method holds (or, where it says so, releases
 * and takes again) the WAL's lock, which guards the mutable fields below. Header writes run without
 * the lock, on the writer thread (trim) or the closing thread after the writer thread stopped, so
 * two header writes never overlap. The fields carry
 * {@code // guarded by: lock} comments, not {@code @GuardedBy}: Error Prone cannot tie the lock
 * BlockDeviceWal holds when it calls in ({@code BlockDeviceWal.lock}) to an expression of this class.
 */
final class DurableHeader {
    private final WalFile file;
    private final ReentrantLock lock;
    private final Condition writerWake;
    private final Condition roomChanged;
    private final CompletionQueue completions;

    private WalHeader header; // guarded by: lock; the last durable header
    private long requestedTrim; // guarded by: lock
    private final List<PendingTrim> pendingTrims = new ArrayList<>(); // guarded by: lock

    private record PendingTrim(long position, CompletableFuture<Void> future) {
    }

    DurableHeader(WalFile file, WalHeader recovered, ReentrantLock lock, Condition writerWake, Condition roomChanged,
            CompletionQueue completions) {
        this.file = file;
        this.lock = lock;
        this.writerWake = writerWake;
        this.roomChanged = roomChanged;
        this.completions = completions;
        this.header = recovered;
        this.requestedTrim = recovered.trimPosition();
    }

    /** The new generation's header, written durably at init. Holds: lock. */
    void started(WalHeader next) {
        header = next;
        requestedTrim = next.trimPosition();
    }

    /** The durable trim point: space below it may be reused. Holds: lock. */
    long trimPosition() {
        return header.trimPosition();
    }

    /** Whether a requested trim point is not durable yet (work for the writer thread). Holds: lock. */
    boolean trimPending() {
        return requestedTrim > header.trimPosition();
    }

    /**
     * Requests the trim point {@code position}; the future completes once it is durable. Wakes the
     * writer thread. Holds: lock.
     *
     * @throws IllegalArgumentException {@code position} is beyond {@code durableEnd}
     */
    CompletableFuture<Void> requestTrim(long position, long durableEnd) {
        if (position > durableEnd) {
            throw new IllegalArgumentException("trim beyond the durable end: position=" + position
                    + " durableEnd=" + durableEnd);
        }
        if (position <= header.trimPosition()) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        pendingTrims.add(new PendingTrim(position, f));
        requestedTrim = Math.max(requestedTrim, position);
        writerWake.signal();
        return f;
    }

    /**
     * Writes a header with the requested trim point; on the writer thread, holding the lock except
     * during the I/O. On success completes the trims it covers and signals room; returns the
     * failure to enter, or null.
     */
    StorageException writeTrim() {
        WalHeader next = header.withTrim(requestedTrim);
        lock.unlock();
        IOException error = null;
        try {
            HeaderSlots.write(file, next);
        } catch (IOException e) {
            error = e;
        } finally {
            lock.lock();
        }
        if (error != null) {
            return new StorageException("WAL header write failed: file=" + file.path() + " trimPosition="
                    + next.trimPosition() + " error=" + error.getMessage(), false, error);
        }
        header = next;
        roomChanged.signalAll(); // the space below the new trim point is reusable now
        List<Runnable> done = new ArrayList<>();
        for (Iterator<PendingTrim> it = pendingTrims.iterator(); it.hasNext(); ) {
            PendingTrim t = it.next();
            if (t.position() <= next.trimPosition()) {
                it.remove();
                done.add(() -> t.future().complete(null));
            }
        }
        completions.add(done);
        return null;
    }

    /** Fails every pending trim with {@code e} (the WAL failed). Holds: lock. */
    void failPending(StorageException e) {
        List<Runnable> trims = new ArrayList<>();
        for (PendingTrim t : pendingTrims) {
            trims.add(() -> t.future().completeExceptionally(e));
        }
        pendingTrims.clear();
        completions.add(trims);
    }

    /** The header that records a clean close with the log ending at {@code end}. Holds: lock. */
    WalHeader closedAt(long end) {
        return header.closedAt(end);
    }

    /**
     * Writes {@code next} (from {@link #closedAt}) after the writer thread stopped; without the lock.
     * A failure only costs the next open a look-ahead over the ring, so it is returned, not thrown.
     */
    IOException writeClosed(WalHeader next) {
        try {
            HeaderSlots.write(file, next);
        } catch (IOException e) {
            return e;
        }
        lock.lock();
        try {
            header = next;
        } finally {
            lock.unlock();
        }
        return null;
    }
}
