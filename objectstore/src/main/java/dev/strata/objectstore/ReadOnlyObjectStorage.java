package dev.strata.objectstore;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An object store opened for reading only, for inspection tools (the {@code strata} command line):
 * gets, heads and lists go to the store; every write, delete and abort fails with
 * {@link UnsupportedOperationException} before anything is sent, so a tool cannot change the store
 * it inspects, whatever it calls.
 *
 * <p>{@link #open(URI)} differs from {@link ObjectStorages#fromUri} for a {@code file:} URI: the
 * directory must exist (it is not created), and no O_DIRECT probe file is written in it.
 *
 * <p>Thread-safe. {@link #close()} closes the storage it opened.
 */
public final class ReadOnlyObjectStorage extends ForwardingObjectStorage {

    private ReadOnlyObjectStorage(ObjectStorage delegate) {
        super(delegate);
    }

    /**
     * Opens the store {@code uri} names ({@code file:} or {@code s3:}, as {@link ObjectStorages#fromUri}).
     *
     * @throws IllegalArgumentException if the URI is malformed or a {@code file:} directory does not exist
     */
    public static ReadOnlyObjectStorage open(URI uri) {
        if (!"file".equals(uri.getScheme())) {
            return new ReadOnlyObjectStorage(ObjectStorages.fromUri(uri));
        }
        Path root = Path.of(uri);
        if (!Files.isDirectory(root)) {
            throw new IllegalArgumentException("object directory does not exist: " + root);
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "strata-objectstore-readonly-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        try {
            return new ReadOnlyObjectStorage(LocalObjectStorage.open(root, pool, pool, PooledByteBufAllocator.DEFAULT,
                    false));
        } catch (RuntimeException e) {
            pool.shutdown();
            throw e;
        }
    }

    /** Wraps {@code storage} (which this instance then closes). */
    public static ReadOnlyObjectStorage wrap(ObjectStorage storage) {
        return new ReadOnlyObjectStorage(storage);
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        ReferenceCountUtil.release(data);
        throw refused("put", key);
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        throw refused("startUpload", key);
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        throw refused("delete", keys.size() + " keys");
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        throw refused("abortIncompleteUploads", uploads.size() + " uploads");
    }

    @Override
    public void close() {
        delegate.close();
    }

    private static UnsupportedOperationException refused(String operation, String what) {
        return new UnsupportedOperationException("read-only object storage: " + operation + " refused (" + what + ")");
    }
}
