package dev.strata.core.append;

import dev.strata.core.read.FetchPath;
import dev.strata.core.support.StoreState;
import dev.strata.core.support.Futures;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.StorageException;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamFilter;
import dev.strata.api.StreamInfo;
import dev.strata.api.StreamOptions;
import dev.strata.core.AuditActor;
import dev.strata.core.AuditEvent;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.StreamMetadata;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongConsumer;

/**
 * Streams' lives: create, open (fencing the previous holder), trim and delete, each made durable in
 * the {@link MetadataStore} before it completes, and the registration of recovered streams at open.
 * Hands out {@link DefaultStream} handles.
 *
 * <p>Thread-safe: a stream's holder, epoch and offsets change under its {@link StreamState}
 * monitor.
 */
public final class StreamRegistry {
    /** Where durable stream changes are reported. */
    private final dev.strata.core.audit.AuditLog audit;
    private final StreamTable streams;
    private final MetadataStore metadata;
    private final Executor callbackExecutor;
    private final StoreState store;
    private final IngestLedger ledger;
    private final AppendPath appends;
    private final FetchPath fetches;
    /** Drops a deleted stream from the read path's caches. */
    private final LongConsumer forgetStream;

    public StreamRegistry(StreamTable streams, MetadataStore metadata, Executor callbackExecutor, StoreState store,
            IngestLedger ledger, AppendPath appends, dev.strata.core.audit.AuditLog audit, FetchPath fetches,
            LongConsumer forgetStream) {
        this.audit = audit;
        this.streams = streams;
        this.metadata = metadata;
        this.callbackExecutor = callbackExecutor;
        this.store = store;
        this.ledger = ledger;
        this.appends = appends;
        this.fetches = fetches;
        this.forgetStream = forgetStream;
    }

    private DefaultStream handle(StreamState state, long epoch) {
        return new DefaultStream(state, epoch, store, appends, fetches, this);
    }

    /**
     * Registers every stream the metadata knows, with the next offset recovery found (its committed
     * end, or the end of what the WAL replayed); recovery only, before the store serves.
     */
    public void registerRecovered(Map<Long, Long> replayedEnds) {
        for (StreamMetadata meta : metadata.streams()) {
            long next = Math.max(meta.committedEndOffset(), replayedEnds.getOrDefault(meta.streamId(), 0L));
            streams.compute(meta.streamId(), (id, old) -> {
                if (old != null) {
                    old.ackedEnd = next;
                    old.assignedEnd = next;
                    old.encrypted = meta.isEncrypted();
                    return old;
                }
                StreamState recovered = new StreamState(id, meta.epoch(), meta.startOffset(), next,
                        new SerialExecutor(callbackExecutor), meta.labels().tenant().orElse(null));
                recovered.encrypted = meta.isEncrypted();
                return recovered;
            });
        }
    }

    /** See {@link dev.strata.api.StreamStore#createStream}. */
    public CompletableFuture<Stream> createStream(StreamOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        if (store.isClosed()) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        Optional<String> actor = AuditActor.current();
        // a stream of an encrypting tenant is encrypted from offset 0, in its metadata (readers then
        // refuse a batch of it whose encrypted bit was cleared)
        boolean encrypted = appends.encrypts(options.labels().tenant().orElse(null));
        return Futures.unwrapping(metadata.createStream(options.epoch(), options.labels(), encrypted).thenApply(meta -> {
            audit.emit(AuditEvent.Type.STREAM_CREATED, meta.streamId(), meta.labels().tenant(), actor,
                    Map.of("epoch", Long.toString(meta.epoch())));
            StreamState state = new StreamState(meta.streamId(), meta.epoch(), 0, 0, new SerialExecutor(callbackExecutor),
                    meta.labels().tenant().orElse(null));
            state.encrypted = meta.isEncrypted();
            DefaultStream handle = handle(state, meta.epoch());
            state.holder = handle;
            streams.put(state);
            return handle;
        }));
    }

    /**
     * See {@link dev.strata.api.StreamStore#listStreams}: the metadata's streams with their labels, the
     * end offset as this store knows it (what it acknowledged, or the committed end for a stream it
     * holds nothing of). Reads local state only; completes at once.
     */
    public CompletableFuture<List<StreamInfo>> listStreams(StreamFilter filter) {
        if (filter == null) {
            throw new IllegalArgumentException("filter must not be null (use StreamFilter.all())");
        }
        if (store.isClosed()) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        List<StreamInfo> out = new ArrayList<>();
        for (StreamMetadata meta : metadata.streams()) {
            if (!filter.matches(meta.labels())) {
                continue;
            }
            StreamState state = streams.get(meta.streamId());
            long end = state == null ? meta.committedEndOffset() : Math.max(state.ackedEnd, meta.committedEndOffset());
            out.add(new StreamInfo(meta.streamId(), meta.epoch(), meta.startOffset(), end, meta.labels()));
        }
        out.sort(Comparator.comparingLong(StreamInfo::streamId));
        return CompletableFuture.completedFuture(List.copyOf(out));
    }

    /** See {@link dev.strata.api.StreamStore#openStream}. */
    public CompletableFuture<Stream> openStream(long streamId, long epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        if (store.isClosed()) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        StreamState existing = streams.get(streamId);
        long epochStart = -1; // the committed end, when this process holds nothing of the stream
        Optional<String> actor = AuditActor.current();
        long previousEpoch = metadata.stream(streamId).map(StreamMetadata::epoch).orElse(-1L);
        long fencedEpoch = -1; // a live holder here that this open fences
        long existingEnd = 0; // where this process appends next (0: the committed end, as far as it knows)
        if (existing != null) {
            synchronized (existing) {
                existingEnd = existing.assignedEnd;
                if (existing.holder != null && !existing.holder.isClosed() && existing.epoch == epoch) {
                    return CompletableFuture.failedFuture(new StreamFencedException(
                            "stream already open at this epoch: streamId=" + streamId + " epoch=" + epoch));
                }
                if (epoch < existing.epoch) {
                    return CompletableFuture.failedFuture(new StreamFencedException("open with stale epoch: streamId="
                            + streamId + " epoch=" + epoch + " storedEpoch=" + existing.epoch));
                }
                if (epoch > existing.epoch) {
                    // Fence the current holder now, so nothing it appends lands at or above the offset
                    // from which the new epoch owns the stream (recorded in the metadata below).
                    if (existing.holder != null && !existing.holder.isClosed()) {
                        fencedEpoch = existing.epoch;
                    }
                    existing.holder = null;
                    epochStart = existing.assignedEnd;
                }
            }
        }
        long fenced = fencedEpoch;
        // A store that encrypts the stream's tenant opening a stream not yet encrypted (created before
        // encryption was enabled): from where it appends on, the stream is encrypted (the metadata keeps
        // the offset; the plain batches below it stay readable).
        Optional<StreamMetadata> known = metadata.stream(streamId);
        long encryptFrom = known.isPresent() && !known.get().isEncrypted()
                && appends.encrypts(known.get().labels().tenant().orElse(null)) ? existingEnd : StreamMetadata.NOT_ENCRYPTED;
        return Futures.unwrapping(metadata.openStream(streamId, epoch, epochStart, encryptFrom).thenApply(meta -> {
            if (previousEpoch >= 0 && epoch > previousEpoch) {
                audit.emit(AuditEvent.Type.STREAM_EPOCH_RAISED, streamId, meta.labels().tenant(), actor,
                        Map.of("epoch", Long.toString(epoch), "previousEpoch", Long.toString(previousEpoch),
                                "epochStartOffset", Long.toString(meta.epochStartOffset())));
            }
            if (fenced >= 0) {
                audit.emit(AuditEvent.Type.STREAM_FENCED, streamId, meta.labels().tenant(), actor,
                        Map.of("fencedEpoch", Long.toString(fenced), "epoch", Long.toString(epoch)));
            }
            StreamState state = streams.computeIfAbsent(streamId, id -> new StreamState(id, meta.epoch(),
                    meta.startOffset(), meta.committedEndOffset(), new SerialExecutor(callbackExecutor),
                    meta.labels().tenant().orElse(null)));
            synchronized (state) {
                if (state.holder != null && !state.holder.isClosed() && state.epoch == epoch) {
                    throw new StreamFencedException("stream already open at this epoch: streamId=" + streamId
                            + " epoch=" + epoch);
                }
                if (state.failure != null) {
                    int inFlight = state.inFlight.get(); // 0: every completion's effects are visible
                    if (inFlight > 0) {
                        // Appends written after the failure are still completing (and will be dropped):
                        // their offsets cannot be handed out again yet.
                        throw new StorageException("stream still completing appends after a failure; retry the open: streamId="
                                + streamId + " inFlight=" + inFlight, true);
                    }
                    state.failure = null; // a re-open clears a failed append's refusal...
                    state.assignedEnd = state.ackedEnd; // ...and reuses the offsets no append kept
                }
                state.encrypted = meta.isEncrypted();
                DefaultStream handle = handle(state, epoch);
                state.epoch = epoch;
                state.holder = handle; // fences the previous holder; its appends already handed to the WAL complete
                return handle;
            }
        }));
    }

    /** See {@link dev.strata.api.StreamStore#deleteStream}. */
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        if (store.isClosed()) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        Optional<String> actor = AuditActor.current();
        Optional<String> tenant = metadata.stream(streamId).flatMap(m -> m.labels().tenant());
        return Futures.unwrapping(metadata.deleteStream(streamId, epoch).thenRun(() -> {
            audit.emit(AuditEvent.Type.STREAM_DELETED, streamId, tenant, actor, Map.of("epoch", Long.toString(epoch)));
            StreamState state = streams.remove(streamId);
            if (state != null) {
                synchronized (state) {
                    state.deleted = true;
                    state.holder = null;
                }
            }
            ledger.dropStream(streamId); // an append completing now inserts before this, or sees deleted
            forgetStream.accept(streamId);
        }));
    }

    /** Moves the stream's start offset to {@code newStart} (durably), for {@link DefaultStream#trim}. */
    CompletableFuture<Void> trim(DefaultStream handle, long newStart) {
        StreamState state = handle.state();
        synchronized (state) {
            RuntimeException refused = handle.refusal(true);
            if (refused != null) {
                return CompletableFuture.failedFuture(refused);
            }
            if (newStart > state.ackedEnd) {
                return CompletableFuture.failedFuture(
                        new OffsetOutOfRangeException(state.id, newStart, state.startOffset, state.ackedEnd));
            }
            if (newStart <= state.startOffset) {
                return CompletableFuture.completedFuture(null);
            }
        }
        Optional<String> actor = AuditActor.current();
        return Futures.unwrapping(metadata.trimStream(state.id, handle.epoch(), newStart).thenAccept(meta -> {
            audit.emit(AuditEvent.Type.STREAM_TRIMMED, state.id, meta.labels().tenant(), actor,
                    Map.of("startOffset", Long.toString(meta.startOffset()), "epoch", Long.toString(handle.epoch())));
            synchronized (state) {
                state.startOffset = Math.max(state.startOffset, meta.startOffset());
            }
        }));
    }
}
