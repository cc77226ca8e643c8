package dev.strata.cli;

import dev.strata.api.StorageException;
import dev.strata.core.metadata.ManifestMetadataStore;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ReadOnlyObjectStorage;
import dev.strata.objectstore.UriRedaction;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A store opened for inspection: its object store through {@link ReadOnlyObjectStorage} (writes
 * refused), and the manifest read as of its latest version when first asked for. Takes no
 * ownership lock and registers no node, so it works while the store is open in another process
 * and never fences it. Not thread-safe; one per command run.
 */
final class StoreAccess implements AutoCloseable {

    /** Where the manifest lives in the object store (Strata.builder() opens it at the root). */
    static final String MANIFEST_ROOT = "";

    private final URI uri;
    private final ObjectStorage storage;
    private final Path walPath;
    private ManifestMetadataStore manifest;

    private StoreAccess(URI uri, ObjectStorage storage, Path walPath) {
        this.uri = uri;
        this.storage = storage;
        this.walPath = walPath;
    }

    static StoreAccess open(URI uri, Path walPath) {
        return new StoreAccess(uri, ReadOnlyObjectStorage.open(uri), walPath);
    }

    /** The object store URI with secrets masked, for output. */
    String redactedUri() {
        return UriRedaction.redact(uri);
    }

    ObjectStorage storage() {
        return storage;
    }

    /** The WAL path, or null if none was given. */
    Path walPath() {
        return walPath;
    }

    /**
     * The manifest as of its latest version, read on first call.
     *
     * @throws dev.strata.api.CorruptDataException if a manifest file is damaged
     * @throws StorageException if the object store cannot be read
     */
    ManifestMetadataStore manifest() {
        if (manifest == null) {
            manifest = ManifestMetadataStore.open(storage, MANIFEST_ROOT);
        }
        return manifest;
    }

    /** Every key under {@code prefix}, sorted. */
    List<ObjectInfo> list(String prefix) {
        return await(storage.list(prefix));
    }

    /** The first {@code length} bytes of {@code key} (fewer if it is shorter), copied to the heap. */
    byte[] readPrefix(String key, int length) {
        return read(key, ByteRange.of(0, length));
    }

    /** The last {@code length} bytes of {@code key} (fewer if it is shorter), copied to the heap. */
    byte[] readSuffix(String key, int length) {
        return read(key, ByteRange.suffix(length));
    }

    private byte[] read(String key, ByteRange range) {
        ObjectData data = await(storage.get(key, range));
        try {
            byte[] out = new byte[data.content().readableBytes()];
            data.content().getBytes(data.content().readerIndex(), out);
            return out;
        } finally {
            data.release();
        }
    }

    /** Waits for {@code future}; its failure is rethrown unwrapped. */
    static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get();
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause();
            while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new StorageException("object store call failed: " + cause, false, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while waiting for the object store", false, e);
        }
    }

    @Override
    public void close() {
        try {
            if (manifest != null) {
                manifest.close();
            }
        } finally {
            storage.close();
        }
    }
}
