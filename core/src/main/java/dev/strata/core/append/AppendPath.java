package dev.strata.core.append;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.RecordBatch;
import dev.strata.api.StorageException;
import dev.strata.api.StrataException;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.cache.LogCache;
import dev.strata.core.AppendStageListener;
import dev.strata.core.crypto.BatchCipher;
import dev.strata.core.crypto.DataKey;
import dev.strata.core.crypto.EnvelopeDescriptor;
import dev.strata.core.crypto.TenantKeyring;
import dev.strata.core.metrics.StoreMetrics;
import dev.strata.core.support.Futures;
import dev.strata.core.support.StoreState;
import dev.strata.core.support.WaitSignal;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WriteAheadLog;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append path: offsets, the WAL hand-off, the LogCache insert and ordered completion.
 *
 * <h2>Concurrency</h2>
 * Each stream's {@link StreamState} monitor guards offset assignment and the WAL hand-off, so the
 * WAL receives a stream's batches in offset order. The batch is encoded (buffer allocated, payload
 * copied) before the monitor is taken; under it only the offset and the CRC are filled in (and,
 * for a stream of an encrypting tenant, the AES-GCM encryption of the payload into the envelope
 * between the two: the envelope's authenticated data binds the base offset, so it cannot run
 * earlier; its data key and nonce are taken before the monitor, see {@code dev.strata.core.crypto}). The WAL
 * completes appends in order, on the thread that reported the write (its I/O completion thread:
 * {@code BlockDeviceWal} runs with inline callbacks, never while holding its lock, never on an
 * appending thread); there, under the {@link IngestLedger}'s lock, the batch enters the LogCache and
 * the stream's acknowledged end moves. That completion path never takes a stream's monitor: an
 * appending thread that holds it and is descheduled (more appending threads than cores) must not
 * stall every completion behind it. The stream's completions still run one at a time in offset
 * order (see {@link #assignAndWrite}), so they need no lock among themselves, and they publish
 * through volatile fields and {@link StreamState#inFlight}. The user's future is then completed on
 * the stream's {@link SerialExecutor} (never on a WAL thread), or, with {@code walCallerWritesWhenIdle},
 * when the WAL wrote on the appending thread and the stream's completions were idle, on that thread
 * once it has released the stream's monitor: a lone appender then needs no thread hop.
 *
 * <h2>Failure</h2>
 * An append refused before reaching the WAL (no room, closed, fenced) fails alone and takes no
 * offset. An append that fails after reaching the WAL (I/O error) fails the stream: every later
 * in-flight append of that stream fails too (no holes), and the stream refuses appends until it is
 * re-opened.
 *
 * <h2>Backpressure</h2>
 * Before the WAL hand-off an append needs room in the LogCache for its encoded size; the WAL
 * refuses what does not fit (ring space, or every write buffer in use). A refused append takes no
 * offset; it waits, holding no lock, for the limit that refused it to clear (the LogCache on
 * {@link StoreState#awaitRoom}, signalled by uploads and cancelled reservations; the WAL in
 * {@link WriteAheadLog#awaitRoom}, by the WAL's own admission rule), then tries again, until
 * {@link AppendSettings#backpressureWait} has passed since the append began: only then does it
 * fail with {@link BackpressureException} (retriable). The fast path (nothing full) takes no extra
 * lock.
 *
 * <p>Thread-safe.
 */
public final class AppendPath {
    private static final Logger LOG = LoggerFactory.getLogger(AppendPath.class);

    private final AppendSettings settings;
    private final WriteAheadLog wal;
    private final LogCache logCache;
    private final IngestLedger ledger;
    private final StoreState store;
    /** Asks the uploader for an upload soon (size trigger, or a limit refused an append). */
    private final Runnable wakeUploader;
    private final StoreMetrics metrics;
    /** Appends handed to the WAL whose completion has not been queued yet; close waits for them (on {@link #drained}). */
    private final AtomicLong appendsInFlight = new AtomicLong();
    private final WaitSignal drained = new WaitSignal();

    /** Byte-rate quotas of streams and tenants, asked before an append goes to the WAL. */
    private final dev.strata.core.quota.QuotaManager quotas;
    /** Which tenants' appends are encrypted, and their data keys. */
    private final TenantKeyring keyring;
    /** Receives each acknowledged append's stage timestamps; null (the default): none are taken. */
    private final AppendStageListener stages;

    /**
     * @param stages receives each acknowledged append's stage timestamps, or null: then no timestamp
     *     is taken for it (one null check per stage)
     */
    public AppendPath(AppendSettings settings, WriteAheadLog wal, LogCache logCache, IngestLedger ledger,
            StoreState store, Runnable wakeUploader, StoreMetrics metrics,
            dev.strata.core.quota.QuotaManager quotas, TenantKeyring keyring, AppendStageListener stages) {
        this.stages = stages;
        this.quotas = quotas;
        this.keyring = keyring;
        this.settings = settings;
        this.wal = wal;
        this.logCache = logCache;
        this.ledger = ledger;
        this.store = store;
        this.wakeUploader = wakeUploader;
        this.metrics = metrics;
    }

    int maxBatchBytes() {
        return settings.maxBatchBytes();
    }

    /** Whether this store encrypts the appends of {@code tenant}'s streams (null: none). */
    boolean encrypts(String tenant) {
        return keyring.encrypts(tenant);
    }

    /** Whether appends to {@code state}'s stream are encrypted: its tenant's, or it is encrypted in the metadata. */
    private boolean encrypted(StreamState state) {
        return state.encrypted || keyring.encrypts(state.tenant);
    }

    /**
     * The largest payload a stream may append: {@link #maxBatchBytes()}, less the envelope's
     * {@link EnvelopeDescriptor#OVERHEAD} when the stream's appends are encrypted (the WAL record of
     * the largest batch must still fit).
     */
    int maxPayloadBytes(StreamState state) {
        return encrypted(state) ? settings.maxBatchBytes() - EnvelopeDescriptor.OVERHEAD
                : settings.maxBatchBytes();
    }

    /**
     * Appends {@code batch}: tries, and while a limit refuses it (see Backpressure), waits for that
     * limit and tries again, until {@code appendBackpressureWait} has passed since the call began.
     * An interrupted thread stops waiting: the append then fails with {@link BackpressureException}
     * and the thread keeps its interrupt status.
     */
    CompletableFuture<AppendResult> append(DefaultStream handle, RecordBatch batch) {
        long startNanos = System.nanoTime();
        long waitNanos = WaitSignal.nanos(settings.backpressureWait());
        CompletableFuture<AppendResult> quotaRefusal = waitForQuota(handle.state().id, batch.sizeBytes(), waitNanos);
        if (quotaRefusal != null) {
            return quotaRefusal;
        }
        DataKey key = null; // null: stored in plain
        String tenant = handle.state().tenant;
        if (encrypted(handle.state())) {
            try {
                if (!keyring.enabled() || tenant == null) {
                    throw new dev.strata.api.KeyUnavailableException(tenant == null ? "" : tenant,
                            "the stream is encrypted but the store has no key provider (Strata.builder().encryption(..)):"
                                    + " streamId=" + handle.state().id + " tenant=" + tenant);
                }
                key = keyring.currentKey(tenant); // blocks only to make a new DEK (first append after open, rotation)
            } catch (RuntimeException e) {
                metrics.appendFailed(e);
                return CompletableFuture.failedFuture(e);
            }
        }
        long encodedSize = key == null ? reservedBytes(batch.sizeBytes())
                : reservedBytes(EnvelopeDescriptor.envelopeSize(batch.sizeBytes()));
        CompletableFuture<AppendResult> result;
        while (true) {
            result = assignAndWrite(handle, batch, encodedSize, startNanos, key);
            if (!(result instanceof Refused refused)) {
                break;
            }
            wakeUploader.run(); // uploads free both cache room and (by trimming) WAL space
            if (store.isClosed()) { // a waiter woken by close(): no room will come
                result = CompletableFuture.failedFuture(new StreamClosedException("store closed"));
                break;
            }
            long remaining = waitNanos - (System.nanoTime() - startNanos);
            if (remaining <= 0 || Thread.currentThread().isInterrupted()) {
                result = CompletableFuture.failedFuture(refused.after(System.nanoTime() - startNanos, waitNanos));
                break;
            }
            if (refused.byWal) {
                try {
                    wal.awaitRoom((int) encodedSize, remaining);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // seen above: the next refusal is final
                }
            } else {
                store.awaitRoom(() -> logCache.hasRoomFor(encodedSize), remaining);
            }
        }
        if (result.isCompletedExceptionally()) {
            metrics.appendFailed(result.handle((r, e) -> Futures.unwrap(e)).join());
        }
        return result;
    }

    /**
     * Waits (parked, holding no lock) for the stream's and its tenant's append quotas to admit
     * {@code bytes}; the wait counts against {@code appendBackpressureWait}. Returns null when admitted,
     * else the failed append (the quota's {@link BackpressureException}; interrupted while waiting,
     * the thread keeps its interrupt status).
     */
    private CompletableFuture<AppendResult> waitForQuota(long streamId, long bytes, long maxWaitNanos) {
        if (!quotas.active()) {
            return null;
        }
        long waitNanos;
        try {
            waitNanos = quotas.admitAppend(streamId, bytes, maxWaitNanos);
        } catch (BackpressureException e) {
            metrics.appendFailed(e);
            return CompletableFuture.failedFuture(e);
        }
        long deadline = System.nanoTime() + waitNanos;
        for (long left = waitNanos; left > 0; left = deadline - System.nanoTime()) {
            java.util.concurrent.locks.LockSupport.parkNanos(this, left);
            if (Thread.currentThread().isInterrupted()) {
                BackpressureException e = new BackpressureException("interrupted while waiting for the append quota of stream "
                        + streamId + "; nothing was written");
                metrics.appendFailed(e);
                return CompletableFuture.failedFuture(e);
            }
        }
        return null;
    }

    /** Gives back the LogCache room of an append that will not be inserted, and wakes appenders waiting for room. */
    private void cancelReservation(long bytes) {
        logCache.cancelReservation(bytes);
        store.roomFreed();
    }

    /** The LogCache reservation of an append of {@code payloadBytes}: its encoded size. */
    private static long reservedBytes(int payloadBytes) {
        return (long) StreamBatchCodec.headerSize() + payloadBytes;
    }

    /**
     * What {@link #assignAndWrite} returns when a limit refused the append (nothing taken, nothing
     * written): already failed with the limit's {@link BackpressureException}, and says which
     * limit, so that {@link #append} can wait for it.
     */
    private static final class Refused extends CompletableFuture<AppendResult> {
        /** The WAL refused (ring space or write buffers); else the LogCache. */
        final boolean byWal;
        private final BackpressureException cause;

        Refused(boolean byWal, BackpressureException cause) {
            this.byWal = byWal;
            this.cause = cause;
            completeExceptionally(cause);
        }

        /** The final refusal, after waiting {@code waitedNanos} of {@code waitNanos}. */
        BackpressureException after(long waitedNanos, long waitNanos) {
            return new BackpressureException(cause.getMessage() + "; waited "
                    + TimeUnit.NANOSECONDS.toMillis(waitedNanos) + " ms (appendBackpressureWait="
                    + TimeUnit.NANOSECONDS.toMillis(waitNanos) + " ms)"
                    + (Thread.currentThread().isInterrupted() ? ", interrupted" : ""), cause);
        }
    }

    /**
     * Assigns the offsets and hands the batch to the WAL, under the stream's lock. Returns a
     * {@link Refused} (nothing taken, nothing written) if the LogCache or the WAL had no room.
     *
     * <p>Completion order: a stream's callbacks ({@link #onDurable}) run one at a time, in offset
     * order, without a lock. The callback is registered under the stream's lock, so if the WAL
     * already completed this append it runs right here, before the stream's next append can reach
     * the WAL; otherwise it runs on the WAL's completion thread, which completes appends in WAL
     * order, which for one stream is offset order.
     */
    private CompletableFuture<AppendResult> assignAndWrite(DefaultStream handle, RecordBatch batch, long encodedSize,
            long startNanos, DataKey key) {
        StreamState state = handle.state();
        CompletableFuture<AppendResult> result = new CompletableFuture<>();
        // Allocate and copy before taking the stream's lock: an allocation can wait for the pool's
        // lock, and nothing that can wait may hold up the stream's other appenders.
        ByteBuf encoded = logCache.allocate((int) encodedSize); // carved from the cache's slabs; the envelope's size when encrypted
        boolean keep = false; // whether the encoded buffer went to the WAL and the completion
        try {
            if (key == null) {
                StreamBatchCodec.encodeUnassigned(encoded, state.id, handle.epoch(), batch);
            } else {
                // The envelope's header and nonce now; the ciphertext under the lock, once the base
                // offset (part of the authenticated data) is known.
                StreamBatchCodec.encodeUnassignedEncrypted(encoded, state.id, handle.epoch(), batch.count(),
                        batch.baseTimestamp(), EnvelopeDescriptor.envelopeSize(batch.sizeBytes()));
                BatchCipher.writeHeader(encoded, key);
            }
            synchronized (state) {
                CompletableFuture<AppendResult> refusedOrWritten = assignAndWriteLocked(handle, state, batch, encoded,
                        encodedSize, startNanos, result, key);
                keep = refusedOrWritten == result;
                return refusedOrWritten;
            }
        } finally {
            if (!keep) {
                encoded.release();
            }
            // If the WAL wrote on this thread (walCallerWritesWhenIdle) and the stream's completions
            // were idle, they run here, without the stream's lock, instead of waking the lane.
            state.completions.runQueuedByCaller();
        }
    }

    /**
     * {@link #assignAndWrite} under the stream's lock. Returns {@code result} when the batch went to the
     * WAL (the completion then owns {@code encoded}), else a failed future, a {@link Refused} one
     * among them (the caller releases {@code encoded}).
     */
    private CompletableFuture<AppendResult> assignAndWriteLocked(DefaultStream handle, StreamState state,
            RecordBatch batch, ByteBuf encoded, long encodedSize, long startNanos,
            CompletableFuture<AppendResult> result, DataKey key) {
        RuntimeException refused = handle.refusal(true);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        try {
            logCache.reserve(encodedSize); // held until inserted or cancelled: in-flight appends count too
        } catch (BackpressureException e) {
            return new Refused(false, e);
        }
        long base = state.assignedEnd;
        try {
            if (key == null) {
                StreamBatchCodec.assignBaseOffset(encoded, base);
            } else {
                // Encrypted under the stream's lock, like the CRC: the AAD binds the base offset.
                // AES-GCM runs at GB/s with AES-NI, of the order of the CRC that is computed here anyway.
                StreamBatchCodec.setBaseOffset(encoded, base);
                BatchCipher.seal(encoded, key, batch.payload());
                StreamBatchCodec.finishChecksum(encoded);
            }
        } catch (RuntimeException | Error e) {
            cancelReservation(encodedSize);
            throw e;
        }
        ledger.enterHandOff();
        try {
            if (store.isClosed()) { // checked under the hand-off lock: close waits for every append past this point
                cancelReservation(encodedSize);
                return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
            }
            CompletableFuture<WalAppendResult> durable;
            // before the call: a WAL that writes on the caller's thread (walCallerWritesWhenIdle) is durable on return
            long handedNanos = stages == null ? 0 : System.nanoTime();
            try {
                durable = wal.append(encoded.retain()); // WAL owns one reference, also when it throws
            } catch (RuntimeException e) {
                cancelReservation(encodedSize);
                return CompletableFuture.failedFuture(e);
            }
            if (durable.isCompletedExceptionally()) {
                // Refused before anything was written (no room, record too large): this append alone
                // fails and its offsets are not taken.
                cancelReservation(encodedSize);
                Throwable cause = durable.handle((r, e) -> Futures.unwrap(e)).join();
                if (cause instanceof BackpressureException refusal) {
                    return new Refused(true, refusal);
                }
                return CompletableFuture.failedFuture(cause);
            }
            state.assignedEnd = base + batch.count();
            state.inFlight.incrementAndGet();
            appendsInFlight.incrementAndGet();
            int count = batch.count();
            int payloadBytes = batch.sizeBytes();
            // Registered under the stream's lock: if the WAL already completed this append, the
            // callback runs here, before the stream's next append can be handed to the WAL, so a
            // stream's callbacks always run in offset order.
            // made durable on this thread (walCallerWritesWhenIdle): the callback runs here, now
            boolean onCaller = settings.completeOnAppendingThread() && durable.isDone();
            durable.whenComplete((walResult, error) -> {
                try {
                    onDurable(state, base, count, payloadBytes, encoded, encodedSize, walResult, error, result,
                            startNanos, handedNanos, onCaller);
                } finally {
                    if (appendsInFlight.decrementAndGet() == 0 && store.isClosed()) {
                        drained.signalAll();
                    }
                }
            });
        } finally {
            ledger.exitHandOff();
        }
        return result;
    }

    /**
     * Runs where the WAL completes its futures (see Concurrency): a stream's completions one at a
     * time, in offset order, without the stream's lock. Always completes {@code result}.
     * {@code handedNanos}: when the WAL took the batch, if {@link #stages} is set (else 0).
     */
    private void onDurable(StreamState state, long base, int count, int payloadBytes, ByteBuf encoded,
            long encodedSize, WalAppendResult walResult, Throwable error, CompletableFuture<AppendResult> result, long startNanos,
            long handedNanos, boolean onCaller) {
        long durableNanos = stages == null ? 0 : System.nanoTime();
        long visibleNanos = 0;
        Throwable failure = null;
        long unsealedWalBytes = 0; // WAL bytes written since the last seal, for the upload trigger
        boolean handedOff = false; // LogCache.insert owns the buffer from the call on, even if it throws
        try {
            if (error != null) {
                if (state.failure == null) {
                    state.failure = Futures.unwrap(error);
                }
                failure = storageFailure(Futures.unwrap(error));
            } else if (state.failure != null) {
                // An earlier in-flight append failed: this one must not become visible, or the
                // stream would have a hole.
                failure = new StreamClosedException("an earlier append of this stream failed: streamId=" + state.id,
                        state.failure);
            } else {
                handedOff = true;
                unsealedWalBytes = ledger.insertAcknowledged(state, base, count, payloadBytes, encoded,
                        encodedSize, walResult.nextPosition());
                if (unsealedWalBytes < 0) { // the stream was deleted: nothing inserted
                    handedOff = false;
                    failure = new StreamNotFoundException(state.id);
                } else {
                    state.ackedEnd = base + count;
                    if (stages != null) {
                        visibleNanos = System.nanoTime();
                    }
                }
            }
        } catch (Throwable t) {
            LOG.error("accepting a durable append failed: streamId={} baseOffset={}", state.id, base, t);
            if (state.failure == null) {
                state.failure = t;
            }
            failure = new StorageException("accepting a durable append failed: streamId=" + state.id + " baseOffset="
                    + base, false, t);
        } finally {
            if (!handedOff) {
                cancelReservation(encodedSize);
                encoded.release();
            }
            state.inFlight.decrementAndGet(); // last: a re-open that sees no append in flight sees all of the above
        }
        if (walResult != null && failure != null) {
            ledger.advanceWalEnd(walResult.nextPosition()); // written but dropped (never acknowledged): nothing to keep for it
        }
        // Size trigger, in both units: cache bytes, and WAL bytes (records padded to the device's blocks,
        // so many small appends fill the WAL faster than the cache; the WAL must not fill silently).
        if (failure == null && (logCache.unuploadedBytes() >= settings.uploadThresholdBytes()
                || unsealedWalBytes >= settings.uploadThresholdBytes())) {
            wakeUploader.run();
        }
        if (failure == null) {
            metrics.appendAcknowledged(payloadBytes, System.nanoTime() - startNanos);
        } else {
            metrics.appendFailed(failure);
        }
        Throwable f = failure;
        long visible = visibleNanos;
        Runnable complete = () -> {
            if (f == null) {
                long completingNanos = stages == null ? 0 : System.nanoTime();
                result.complete(new AppendResult(base));
                if (stages != null) {
                    reportStages(state.id, base, startNanos, handedNanos, durableNanos, visible, completingNanos);
                }
            } else {
                result.completeExceptionally(f);
            }
        };
        if (onCaller) {
            // On the appending thread, under the stream's lock: assignAndWrite runs the queue once it
            // has released the lock (user code never runs under it).
            state.completions.executeByCaller(complete);
        } else {
            state.completions.execute(complete);
        }
    }

    /** Hands one append's stage timestamps to {@link #stages}; what it throws is logged and ignored. */
    private void reportStages(long streamId, long base, long called, long handed, long durable, long visible,
            long completing) {
        try {
            stages.onAppend(streamId, base, called, handed, durable, visible, completing);
        } catch (RuntimeException e) {
            LOG.warn("appendStageListener threw; ignored: streamId={} baseOffset={}", streamId, base, e);
        }
    }

    private static Throwable storageFailure(Throwable t) {
        return t instanceof StrataException ? t : new StorageException("WAL append failed", false, t);
    }

    /**
     * Waits (bounded by {@code maxNanos}) until every append handed to the WAL has had its completion
     * queued. Called by close, after the store is marked closed.
     */
    public void close(long maxNanos) {
        if (!drained.await(() -> appendsInFlight.get() == 0, maxNanos)) {
            LOG.warn("closing with {} appends still in flight after {} ms; they fail as the WAL closes",
                    appendsInFlight.get(), TimeUnit.NANOSECONDS.toMillis(maxNanos));
        }
    }
}
