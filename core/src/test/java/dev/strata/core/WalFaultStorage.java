package dev.strata.core;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.IncompleteUpload;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.testing.RefusedObjectUpload;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Faults between a whole store and its object storage, aimed at the objects of its WAL
 * ({@code wal/<20 digits>}, the object-store WAL's keys), for {@link DisklessS3FaultTest}: a held
 * (slow) PUT, PUTs failed before they reach the server, a PUT applied by the server whose response
 * is lost, WAL objects left out of listings, and {@link #sever()}, the process's death as the object
 * store sees it. Every other request (the manifest, uploads, reads) passes through untouched until
 * {@link #sever()}. Thread-safe. Buffers follow the {@link ObjectStorage} contract: a write that is
 * failed here releases its data.
 */
final class WalFaultStorage extends ForwardingObjectStorage {
    private static final Pattern WAL_KEY = Pattern.compile("(.*/)?wal/\\d{20}");

    /** A WAL PUT held back until {@link #release()} (or failed, unsent, by {@link #sever()}). */
    static final class Hold {
        private final CompletableFuture<String> reached = new CompletableFuture<>();
        private final CompletableFuture<Void> gate = new CompletableFuture<>();

        /** Completes with the key once the held PUT was made (and is being held). */
        CompletableFuture<String> reached() {
            return reached;
        }

        /** Sends the held PUT. */
        void release() {
            gate.complete(null);
        }
    }

    private final List<Hold> holds = new ArrayList<>(); // guarded by: this; armed, not yet reached
    private final List<Hold> gates = new ArrayList<>(); // guarded by: this; every hold, for sever()
    private int failPuts; // guarded by: this
    private final List<CompletableFuture<String>> loseResponses = new ArrayList<>(); // guarded by: this
    private final List<CompletableFuture<String>> landedWaiters = new ArrayList<>(); // guarded by: this
    private final Set<String> hidden = new HashSet<>(); // guarded by: this
    private volatile boolean severed;
    private final Map<String, AtomicInteger> walPutAttempts = new ConcurrentHashMap<>();
    private final AtomicInteger injected = new AtomicInteger();
    private final AtomicInteger hiddenFromListings = new AtomicInteger();

    WalFaultStorage(ObjectStorage delegate) {
        super(delegate);
    }

    static boolean isWalKey(String key) {
        return key != null && WAL_KEY.matcher(key).matches();
    }

    /** The next WAL PUT waits until the hold is released. */
    synchronized Hold holdNextWalPut() {
        Hold h = new Hold();
        holds.add(h);
        gates.add(h);
        return h;
    }

    /** The next {@code n} WAL PUTs fail with a retriable 500 before they reach the server. */
    synchronized void failNextWalPuts(int n) {
        failPuts += n;
    }

    /**
     * The next WAL PUT is applied by the server, then reported to the caller as a retriable 500 (the
     * response was lost). The returned future completes with its key once the object is stored.
     */
    synchronized CompletableFuture<String> loseNextWalPutResponse() {
        CompletableFuture<String> applied = new CompletableFuture<>();
        loseResponses.add(applied);
        return applied;
    }

    /** Completes with the key of the next WAL PUT that the server stores (after this call). */
    synchronized CompletableFuture<String> nextWalPutLanded() {
        CompletableFuture<String> f = new CompletableFuture<>();
        landedWaiters.add(f);
        return f;
    }

    /** Listings leave these keys out (a listing that lags behind the newest objects). */
    synchronized void hideFromListing(Collection<String> keys) {
        hidden.addAll(keys);
    }

    /** Listed objects left out so far. */
    int hiddenFromListings() {
        return hiddenFromListings.get();
    }

    /** PUTs of {@code key} made so far (attempts, whatever their outcome). */
    int walPutAttempts(String key) {
        AtomicInteger n = walPutAttempts.get(key);
        return n == null ? 0 : n.get();
    }

    /** Faults injected so far: failed PUTs and lost responses. */
    int injectedFaults() {
        return injected.get();
    }

    /**
     * The process is dead, as the object store sees it: no later request reaches the server (each
     * fails with a non-retriable 403), a held PUT is never sent, and requests already sent may still
     * take effect but their responses are lost (reported as failures).
     */
    void sever() {
        List<Hold> all;
        synchronized (this) {
            severed = true;
            all = new ArrayList<>(gates);
        }
        for (Hold h : all) {
            h.gate.completeExceptionally(dead(Operation.PUT, "held"));
        }
    }

    private ObjectStorageException dead(Operation op, String key) {
        return ObjectStorageException.of(Kind.PERMANENT, op, key, 403, "injected: the process is dead", null);
    }

    /** Runs {@code call} unless severed; a response arriving after {@link #sever()} is lost. */
    private <T> CompletableFuture<T> alive(Operation op, String key, ByteBuf owned, Supplier<CompletableFuture<T>> call) {
        if (severed) {
            if (owned != null) {
                owned.release();
            }
            return CompletableFuture.failedFuture(dead(op, key));
        }
        return call.get().thenCompose(v -> {
            if (!severed) {
                return CompletableFuture.completedFuture(v);
            }
            if (v instanceof ObjectData d) {
                d.release();
            }
            return CompletableFuture.failedFuture(dead(op, key));
        });
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        if (!isWalKey(key)) {
            return alive(Operation.PUT, key, data, () -> delegate.put(key, data, condition));
        }
        walPutAttempts.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        Hold hold = null;
        boolean fail = false;
        CompletableFuture<String> lose = null;
        synchronized (this) {
            if (!severed) {
                if (!holds.isEmpty()) {
                    hold = holds.remove(0);
                } else if (failPuts > 0) {
                    failPuts--;
                    fail = true;
                } else if (!loseResponses.isEmpty()) {
                    lose = loseResponses.remove(0);
                }
            }
        }
        if (fail) {
            injected.incrementAndGet();
            data.release();
            return CompletableFuture.failedFuture(ObjectStorageException.of(Kind.TRANSIENT, Operation.PUT, key, 500,
                    "injected: PUT failed", null));
        }
        CompletableFuture<ObjectInfo> sent;
        if (hold != null) {
            Hold h = hold;
            h.reached.complete(key);
            sent = h.gate.handle((v, e) -> e).thenCompose(e -> {
                if (e != null) {
                    data.release();
                    return CompletableFuture.failedFuture(e);
                }
                return alive(Operation.PUT, key, data, () -> delegate.put(key, data, condition));
            });
        } else {
            sent = alive(Operation.PUT, key, data, () -> delegate.put(key, data, condition));
        }
        CompletableFuture<String> lost = lose;
        return sent.thenCompose(info -> {
            List<CompletableFuture<String>> waiters;
            synchronized (this) {
                waiters = new ArrayList<>(landedWaiters);
                landedWaiters.clear();
            }
            waiters.forEach(w -> w.complete(key));
            if (lost == null) {
                return CompletableFuture.completedFuture(info);
            }
            injected.incrementAndGet();
            lost.complete(key);
            return CompletableFuture.failedFuture(ObjectStorageException.of(Kind.TRANSIENT, Operation.PUT, key, 500,
                    "injected: response lost after the PUT was applied", null));
        });
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        if (severed) {
            return deadUpload(key);
        }
        ObjectUpload upload = delegate.startUpload(key, condition);
        return new ForwardingObjectUpload(upload) {
            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                return alive(Operation.PUT, key, data, () -> upload.write(data));
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                return alive(Operation.PUT, key, null, upload::complete);
            }

            @Override
            public CompletableFuture<Void> abort() {
                return alive(Operation.DELETE, key, null, upload::abort);
            }
        };
    }

    private ObjectUpload deadUpload(String key) {
        return new RefusedObjectUpload(key, () -> dead(Operation.PUT, key));
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return alive(Operation.GET, key, null, () -> delegate.get(key, range));
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return alive(Operation.HEAD, key, null, () -> delegate.head(key));
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return alive(Operation.DELETE, null, null, () -> delegate.delete(keys));
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return alive(Operation.LIST, prefix, null, () -> delegate.list(prefix)).thenApply(all -> {
            List<ObjectInfo> shown = new ArrayList<>(all.size());
            synchronized (this) {
                for (ObjectInfo i : all) {
                    if (hidden.contains(i.key())) {
                        hiddenFromListings.incrementAndGet();
                    } else {
                        shown.add(i);
                    }
                }
            }
            return shown;
        });
    }

    @Override
    public CompletableFuture<List<IncompleteUpload>> listIncompleteUploads() {
        return alive(Operation.LIST, null, null, delegate::listIncompleteUploads);
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        return alive(Operation.DELETE, null, null, () -> delegate.abortIncompleteUploads(uploads));
    }
}
