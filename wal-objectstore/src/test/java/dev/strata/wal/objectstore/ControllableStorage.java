package dev.strata.wal.objectstore;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Fault injection for the WAL's tests, by key: holds PUTs until released (slow PUTs), fails PUTs
 * (before they take effect), loses responses (the PUT takes effect, the caller sees a failure),
 * hides keys from listings (a lagging listing), and runs a hook before a PUT.
 */
final class ControllableStorage extends ForwardingObjectStorage {
    private final Map<String, CompletableFuture<Void>> holds = new HashMap<>();
    private final Map<String, ObjectStorageException.Kind> failures = new HashMap<>();
    private final Set<String> loseResponse = new HashSet<>();
    private final Set<String> hidden = new HashSet<>();
    private final Map<String, Consumer<String>> beforePut = new HashMap<>();
    private final Map<String, Consumer<String>> beforeGet = new HashMap<>();
    private final Map<String, CompletableFuture<Void>> landed = new HashMap<>();
    final List<String> putKeys = new CopyOnWriteArrayList<>();

    ControllableStorage(ObjectStorage delegate) {
        super(delegate);
    }

    /** The wrapped storage. */
    ObjectStorage inner() {
        return delegate;
    }

    /** Completes when a PUT of {@code key} has taken effect in the wrapped storage. */
    synchronized CompletableFuture<Void> landed(String key) {
        return landed.computeIfAbsent(key, k -> new CompletableFuture<>());
    }

    /** The next PUT of {@code key} waits until the returned future is completed (later ones do not). */
    synchronized CompletableFuture<Void> hold(String key) {
        return holds.computeIfAbsent(key, k -> new CompletableFuture<>());
    }

    /** Every PUT of {@code key} fails with {@code kind} without taking effect, until {@link #heal}. */
    synchronized void fail(String key, ObjectStorageException.Kind kind) {
        failures.put(key, kind);
    }

    synchronized void heal(String key) {
        failures.remove(key);
    }

    /** The next PUT of {@code key} takes effect but its caller sees a transient failure. */
    synchronized void loseResponse(String key) {
        loseResponse.add(key);
    }

    /** Listings leave out {@code key}. */
    synchronized void hideFromListing(String key) {
        hidden.add(key);
    }

    synchronized void beforePut(String key, Consumer<String> hook) {
        beforePut.put(key, hook);
    }

    /** Runs {@code hook} before the next GET of {@code key}. */
    synchronized void beforeGet(String key, Consumer<String> hook) {
        beforeGet.put(key, hook);
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        Consumer<String> hook;
        synchronized (this) {
            hook = beforeGet.remove(key);
        }
        if (hook != null) {
            hook.accept(key);
        }
        return delegate.get(key, range);
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        putKeys.add(key);
        CompletableFuture<Void> hold;
        ObjectStorageException.Kind kind;
        boolean lose;
        Consumer<String> hook;
        synchronized (this) {
            hold = holds.remove(key);
            kind = failures.get(key);
            lose = loseResponse.remove(key);
            hook = beforePut.remove(key);
        }
        if (hook != null) {
            hook.accept(key);
        }
        if (kind != null) {
            data.release();
            return CompletableFuture.failedFuture(ObjectStorageException.of(kind, Operation.PUT, key, 503,
                    "injected failure", null));
        }
        CompletableFuture<Void> gate = hold == null ? CompletableFuture.completedFuture(null) : hold;
        return gate.thenCompose(v -> delegate.put(key, data, condition)).thenCompose(info -> {
            landed(key).complete(null);
            return CompletableFuture.completedFuture(info);
        }).thenCompose(info -> lose
                ? CompletableFuture.failedFuture(ObjectStorageException.of(ObjectStorageException.Kind.TRANSIENT,
                        Operation.PUT, key, 500, "injected lost response", null))
                : CompletableFuture.completedFuture(info));
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return delegate.list(prefix).thenApply(all -> {
            List<ObjectInfo> shown = new ArrayList<>();
            synchronized (this) {
                for (ObjectInfo i : all) {
                    if (!hidden.contains(i.key())) {
                        shown.add(i);
                    }
                }
            }
            return shown;
        });
    }
}
