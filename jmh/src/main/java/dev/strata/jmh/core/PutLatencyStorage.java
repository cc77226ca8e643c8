package dev.strata.jmh.core;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An {@link ObjectStorage} that adds a fixed latency to every PUT: a whole-object {@link #put} and the
 * {@link ObjectUpload#complete() completion} of a streaming upload (the request that makes the object
 * visible). Every other operation is forwarded unchanged, unless made with {@link #everyRequest}: then
 * GET, HEAD, LIST and DELETE are delayed too, as a remote object store's round trip would delay them.
 * A streaming upload's {@link ObjectUpload#write writes} are never delayed: a write hands a buffer to
 * the upload, which sends a part per part size (8 MiB for S3), not per write, so delaying each write
 * would count a round trip per buffer; the parts' own round trips are those of the store underneath.
 *
 * <p>The request is forwarded at once and only its <em>acknowledgement</em> is delayed: the put reaches
 * the store underneath (and, if it succeeds, becomes visible to readers) immediately, and its future
 * completes, with the same result or the same failure, {@code latencyMillis} later. A PUT's latency lies
 * before its acknowledgement, and the writer can do nothing with the outcome until then, so for the
 * writer this is a slow PUT. Forwarding first also hands the buffer to the store underneath at once, so
 * no buffer is held by this wrapper while it waits.
 *
 * <p>The caller's thread never blocks: completions are scheduled on one daemon thread of this wrapper,
 * and the callers' dependent stages run on it. {@link #close()} lets every scheduled completion run,
 * then closes the delegate.
 *
 * <p>Thread-safe if the delegate is. Failures are the delegate's, unwrapped, as
 * {@link ObjectStorage} requires; synchronous exceptions (invalid keys) are thrown at once.
 */
public final class PutLatencyStorage extends ForwardingObjectStorage {
    private final Executor delayed; // runs a task latency later
    private final ScheduledExecutorService scheduler; // null when the delay executor was given
    private final boolean everyRequest;

    /**
     * Wraps {@code delegate}, which this wrapper then owns (closes).
     *
     * @param latencyMillis added to each PUT's acknowledgement; at least 1
     */
    public PutLatencyStorage(ObjectStorage delegate, long latencyMillis) {
        this(delegate, latencyMillis, false);
    }

    /**
     * Wraps {@code delegate}, which this wrapper then owns (closes), delaying the acknowledgement of
     * GET, HEAD, LIST and DELETE requests too, not only PUTs (an upload's writes: see the class comment).
     *
     * @param latencyMillis added to each request's acknowledgement; at least 1
     */
    public static PutLatencyStorage everyRequest(ObjectStorage delegate, long latencyMillis) {
        return new PutLatencyStorage(delegate, latencyMillis, true);
    }

    private PutLatencyStorage(ObjectStorage delegate, long latencyMillis, boolean everyRequest) {
        super(delegate);
        this.everyRequest = everyRequest;
        if (latencyMillis < 1) {
            throw new IllegalArgumentException("putLatencyMillis must be >= 1, got " + latencyMillis);
        }
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "put-latency");
            t.setDaemon(true);
            return t;
        });
        this.delayed = task -> scheduler.schedule(task, latencyMillis, TimeUnit.MILLISECONDS);
    }

    /** For tests: {@code delayed} runs each completion whenever it chooses. */
    PutLatencyStorage(ObjectStorage delegate, Executor delayed) {
        super(delegate);
        this.delayed = delayed;
        this.scheduler = null;
        this.everyRequest = false;
    }

    private <T> CompletableFuture<T> acknowledgedLater(CompletableFuture<T> request) {
        CompletableFuture<T> ack = new CompletableFuture<>();
        request.whenComplete((value, failure) -> delayed.execute(() -> {
            if (failure == null) {
                ack.complete(value);
            } else {
                ack.completeExceptionally(failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure);
            }
        }));
        return ack;
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        return acknowledgedLater(delegate.put(key, data, condition));
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        ObjectUpload upload = delegate.startUpload(key, condition);
        return new ForwardingObjectUpload(upload) {
            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                return upload.write(data);
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                return acknowledgedLater(upload.complete());
            }
        };
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return everyRequest ? acknowledgedLater(delegate.get(key, range)) : delegate.get(key, range);
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return everyRequest ? acknowledgedLater(delegate.head(key)) : delegate.head(key);
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return everyRequest ? acknowledgedLater(delegate.list(prefix)) : delegate.list(prefix);
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return everyRequest ? acknowledgedLater(delegate.delete(keys)) : delegate.delete(keys);
    }

    /** Runs the completions already scheduled (shutdown keeps delayed tasks), then closes the delegate. */
    @Override
    public void close() {
        if (scheduler != null) {
            scheduler.shutdown();
            try {
                scheduler.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        delegate.close();
    }
}
