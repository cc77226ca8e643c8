package dev.strata.objectstore.testing;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.ObjectStorageMetrics;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.Retrier;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Wraps an {@link ObjectStorage} and injects faults, for reliability tests of every layer above
 * (shipped in this module's test-jar). Driven by a seed, so a failing run replays exactly.
 *
 * <ul>
 *   <li>{@link #failNext}: the next {@code n} requests of an operation (optionally under a key prefix)
 *       fail with a kind (THROTTLED looks like a 503 SlowDown, TRANSIENT like a 500/reset).</li>
 *   <li>{@link #failRate}: each request fails with a probability.</li>
 *   <li>{@link #loseResponses}: the request <em>is applied</em>, then reported as failed (the
 *       ambiguous case of a lost response), to test that conditional writes are not blindly retried.</li>
 *   <li>{@link #failAfterBytes}: reads longer than {@code n} bytes, and uploads once they have
 *       written more than {@code n} bytes, fail with TRANSIENT (a connection reset mid-body).</li>
 *   <li>{@link #latency}: completions are delayed through an injected {@link Retrier.Scheduler}
 *       (tests pass a manual one; nothing sleeps).</li>
 * </ul>
 * Faults are decided before delegating (the request never reaches the store) unless stated.
 * Thread-safe: rules and the random generator are guarded by this object's lock. Buffers follow the
 * {@link ObjectStorage} contract: an injected write failure still releases the data.
 */
public final class FaultInjectingObjectStorage implements ObjectStorage {

    private static final class Rule {
        final Operation op;
        final String keyPrefix;
        final Kind kind;
        final double rate; // used when remaining < 0
        int remaining; // -1: rate-based, unlimited
        final boolean applyFirst;

        Rule(Operation op, String keyPrefix, Kind kind, double rate, int remaining, boolean applyFirst) {
            this.op = op;
            this.keyPrefix = keyPrefix;
            this.kind = kind;
            this.rate = rate;
            this.remaining = remaining;
            this.applyFirst = applyFirst;
        }

        boolean matches(Operation o, String key) {
            return op == o && (keyPrefix == null || key != null && key.startsWith(keyPrefix));
        }
    }

    private final ObjectStorage delegate;
    private final Random random; // guarded by: this
    private final List<Rule> rules = new ArrayList<>(); // guarded by: this
    private long failAfterBytes = -1; // guarded by: this
    private long latencyNanos; // guarded by: this
    private Retrier.Scheduler scheduler; // guarded by: this
    private final AtomicInteger injected = new AtomicInteger();

    public FaultInjectingObjectStorage(ObjectStorage delegate, long seed) {
        this.delegate = delegate;
        this.random = new Random(seed);
    }

    /** The next {@code times} requests of {@code op} fail with {@code kind}. */
    public synchronized FaultInjectingObjectStorage failNext(Operation op, int times, Kind kind) {
        return failNext(op, null, times, kind);
    }

    /** The next {@code times} requests of {@code op} on keys under {@code keyPrefix} fail with {@code kind}. */
    public synchronized FaultInjectingObjectStorage failNext(Operation op, String keyPrefix, int times, Kind kind) {
        rules.add(new Rule(op, keyPrefix, kind, 0, times, false));
        return this;
    }

    /** Each request of {@code op} fails with {@code kind} with probability {@code rate}. */
    public synchronized FaultInjectingObjectStorage failRate(Operation op, double rate, Kind kind) {
        rules.add(new Rule(op, null, kind, rate, -1, false));
        return this;
    }

    /** The next {@code times} requests of {@code op} are applied, then reported failed with {@code kind}. */
    public synchronized FaultInjectingObjectStorage loseResponses(Operation op, int times, Kind kind) {
        rules.add(new Rule(op, null, kind, 0, times, true));
        return this;
    }

    /** Reads longer than {@code bytes}, and uploads past {@code bytes} written, fail as TRANSIENT. */
    public synchronized FaultInjectingObjectStorage failAfterBytes(long bytes) {
        this.failAfterBytes = bytes;
        return this;
    }

    /** Every completion is delayed by {@code nanos} through {@code scheduler}. */
    public synchronized FaultInjectingObjectStorage latency(long nanos, Retrier.Scheduler scheduler) {
        this.latencyNanos = nanos;
        this.scheduler = scheduler;
        return this;
    }

    /** Removes every rule. */
    public synchronized void clear() {
        rules.clear();
        failAfterBytes = -1;
        latencyNanos = 0;
    }

    /** Faults injected so far. */
    public int injectedFaults() {
        return injected.get();
    }

    /** The rule that fires for this request, or null; consumes one use of a counted rule. */
    private synchronized Rule decide(Operation op, String key) {
        for (Rule r : rules) {
            if (!r.matches(op, key)) {
                continue;
            }
            if (r.remaining > 0) {
                r.remaining--;
                return r;
            }
            if (r.remaining < 0 && random.nextDouble() < r.rate) {
                return r;
            }
        }
        return null;
    }

    private ObjectStorageException fault(Kind kind, Operation op, String key) {
        injected.incrementAndGet();
        int status = switch (kind) {
            case THROTTLED -> 503;
            case TRANSIENT -> 500;
            case NOT_FOUND -> 404;
            case PRECONDITION_FAILED -> 412;
            case PERMANENT -> 403;
        };
        return ObjectStorageException.of(kind, op, key, status, "injected fault", null);
    }

    private <T> CompletableFuture<T> run(Operation op, String key, Supplier<CompletableFuture<T>> call,
                                         Runnable releaseOnFault) {
        Rule rule = decide(op, key);
        CompletableFuture<T> result;
        if (rule != null && !rule.applyFirst) {
            if (releaseOnFault != null) {
                releaseOnFault.run();
            }
            result = CompletableFuture.failedFuture(fault(rule.kind, op, key));
        } else if (rule != null) {
            result = call.get().handle((v, e) -> {
                if (v instanceof ObjectData d) {
                    d.release();
                }
                throw fault(rule.kind, op, key);
            });
        } else {
            result = call.get();
        }
        return delayed(result);
    }

    private <T> CompletableFuture<T> delayed(CompletableFuture<T> f) {
        long delay;
        Retrier.Scheduler s;
        synchronized (this) {
            delay = latencyNanos;
            s = scheduler;
        }
        if (delay <= 0) {
            return f;
        }
        CompletableFuture<T> out = new CompletableFuture<>();
        f.whenComplete((v, e) -> s.schedule(() -> {
            if (e != null) {
                out.completeExceptionally(Retrier.unwrap(e));
            } else {
                out.complete(v);
            }
        }, delay));
        return out;
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        long limit;
        synchronized (this) {
            limit = failAfterBytes;
        }
        if (limit >= 0 && data.readableBytes() > limit) {
            data.release();
            return CompletableFuture.failedFuture(fault(Kind.TRANSIENT, Operation.PUT, key));
        }
        return run(Operation.PUT, key, () -> delegate.put(key, data, condition), data::release);
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        ObjectUpload inner = delegate.startUpload(key, condition);
        return new ForwardingObjectUpload(inner) {
            private long written;
            /** The first injected write failure: the upload contract says every later call fails. */
            private volatile Throwable failed;

            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                Throwable earlier = failed;
                if (earlier != null) {
                    data.release();
                    return CompletableFuture.failedFuture(earlier);
                }
                long limit;
                synchronized (FaultInjectingObjectStorage.this) {
                    limit = failAfterBytes;
                }
                written += data.readableBytes();
                if (limit >= 0 && written > limit) {
                    data.release();
                    ObjectStorageException e = fault(Kind.TRANSIENT, Operation.MULTIPART_UPLOAD_PART, key);
                    failed = e;
                    return CompletableFuture.failedFuture(e);
                }
                CompletableFuture<Void> f = run(Operation.MULTIPART_UPLOAD_PART, key, () -> inner.write(data), data::release);
                f.whenComplete((v, e) -> {
                    if (e != null && failed == null) {
                        failed = e;
                    }
                });
                return f;
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                Throwable earlier = failed;
                if (earlier != null) {
                    return inner.abort().thenCompose(v -> CompletableFuture.failedFuture(earlier));
                }
                Rule rule = decide(Operation.MULTIPART_COMPLETE, key);
                if (rule != null && !rule.applyFirst) {
                    return inner.abort().thenCompose(v -> CompletableFuture.failedFuture(
                            fault(rule.kind, Operation.MULTIPART_COMPLETE, key)));
                }
                CompletableFuture<ObjectInfo> f = inner.complete();
                return rule == null ? delayed(f) : f.handle((v, e) -> {
                    throw fault(rule.kind, Operation.MULTIPART_COMPLETE, key);
                });
            }
        };
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return run(Operation.GET, key, () -> delegate.get(key, range).thenApply(d -> {
            long limit;
            synchronized (this) {
                limit = failAfterBytes;
            }
            if (limit >= 0 && d.content().readableBytes() > limit) {
                d.release();
                throw fault(Kind.TRANSIENT, Operation.GET, key);
            }
            return d;
        }), null);
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return run(Operation.HEAD, key, () -> delegate.head(key), null);
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return run(Operation.DELETE, null, () -> delegate.delete(keys), null);
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return run(Operation.LIST, prefix, () -> delegate.list(prefix), null);
    }

    /** Passed through without faults (so the fault schedules of existing campaigns stay as they were). */
    @Override
    public CompletableFuture<List<dev.strata.objectstore.IncompleteUpload>> listIncompleteUploads() {
        return delegate.listIncompleteUploads();
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<dev.strata.objectstore.IncompleteUpload> uploads) {
        return delegate.abortIncompleteUploads(uploads);
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return delegate.metrics();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
