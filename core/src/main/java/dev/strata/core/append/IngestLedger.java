package dev.strata.core.append;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.core.upload.UploadSource;
import dev.strata.cache.LogCache;
import dev.strata.objectstore.format.StreamBatch;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;

/**
 * The hand-off between the WAL and the LogCache: which WAL positions have been handled (their record
 * inserted into the LogCache, or dropped as never acknowledged, already committed or deleted), and
 * which of them a seal for upload has taken. The uploader may trim the WAL up to what a seal
 * reached, so "insert into the LogCache, then note the record's WAL end" must be atomic with
 * sealing: both run under {@code lock}.
 *
 * <h2>The hand-off lock</h2>
 * Appends hold the read side of {@code handOff} from the WAL hand-off until their completion
 * callback is registered; sealing takes the write side. Why: a callback runs out of WAL order only
 * when its future completed before the callback was registered (it then runs inline, late). With no
 * append inside that window, every completed WAL record has been handled, in WAL order, so the
 * highest handled end position is a safe WAL trim point for what the seal takes. Closing the store
 * also takes the write side ({@link #exclusive}), so that no append is between its closed check
 * and the WAL hand-off when the store closes.
 *
 * <p>Thread-safe.
 */
public final class IngestLedger implements UploadSource {
    private final LogCache logCache;
    /** Makes "insert into the LogCache, then note the record's WAL end" atomic with sealing for upload. */
    private final Object lock = new Object();
    /** Highest WAL end position of a record handled (inserted, or dropped as never acknowledged). */
    @GuardedBy("lock")
    private long handledWalEnd;
    /** The WAL position the last seal reached: WAL bytes above it are not being uploaded yet. */
    @GuardedBy("lock")
    private long sealedWalEnd;
    private final ReentrantReadWriteLock handOff = new ReentrantReadWriteLock();

    public IngestLedger(LogCache logCache) {
        this.logCache = logCache;
    }

    @Override
    public Sealed seal() {
        handOff.writeLock().lock();
        try {
            synchronized (lock) {
                sealedWalEnd = handledWalEnd;
                return new Sealed(logCache.sealForUpload(), handledWalEnd);
            }
        } finally {
            handOff.writeLock().unlock();
        }
    }

    /** Runs {@code action} with no append between its closed check and the WAL hand-off (closing the store). */
    public boolean exclusive(BooleanSupplier action) {
        handOff.writeLock().lock();
        try {
            return action.getAsBoolean();
        } finally {
            handOff.writeLock().unlock();
        }
    }

    /** Adds a recovered WAL record to the cache (recovery only, before the store serves). */
    public void insertRecovered(StreamBatch batch, ByteBuf encoded, long walNextPosition) {
        synchronized (lock) {
            logCache.insert(batch.streamId(), batch.baseOffset(), batch.count(), batch.payloadLength(), encoded);
            handledWalEnd = Math.max(handledWalEnd, walNextPosition);
        }
    }

    /** Accounts WAL data handled without a cache insert (skipped at recovery, or written but never acknowledged). */
    public void advanceWalEnd(long position) {
        synchronized (lock) {
            handledWalEnd = Math.max(handledWalEnd, position);
        }
    }

    /** An append is about to be handed to the WAL: holds the read side until its callback is registered. */
    void enterHandOff() {
        handOff.readLock().lock();
    }

    void exitHandOff() {
        handOff.readLock().unlock();
    }

    /**
     * Inserts an acknowledged append into the LogCache (which owns {@code encoded} from the call on,
     * even if it throws) and notes its WAL end, unless the stream was deleted. Returns the WAL bytes
     * handled since the last seal (for the upload trigger), or -1 if the stream was deleted (nothing
     * was inserted; the caller still owns {@code encoded}).
     */
    long insertAcknowledged(StreamState state, long base, int count, int payloadBytes, ByteBuf encoded,
            long reservedBytes, long walNextPosition) {
        synchronized (lock) {
            if (state.deleted) { // checked here: dropStream runs under the same lock
                return -1;
            }
            logCache.insert(state.id, base, count, payloadBytes, encoded, reservedBytes);
            handledWalEnd = Math.max(handledWalEnd, walNextPosition);
            return handledWalEnd - sealedWalEnd;
        }
    }

    /** Drops a deleted stream from the cache: an append completing now inserts before this, or sees it deleted. */
    void dropStream(long streamId) {
        synchronized (lock) {
            logCache.dropStream(streamId);
        }
    }
}
