package dev.strata.jmh.core;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageMetrics;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PreconditionFailedException;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * Benchmark instrument, not a product store: an {@link ObjectStorage} whose data objects leave the
 * machine, as they do with S3, so an engine benchmark can measure what the engine costs above its
 * WAL without the object bytes landing on the WAL's disk a second time (the embedded default writes
 * every byte to that disk twice; in production the objects go over the network).
 *
 * <p>Data objects (keys made by {@link ObjectKeys#dataObjectKey}) are consumed like an S3 client
 * consumes them: every byte is read once through a CRC32C (the SDK's request checksum), then the
 * buffer is released and only the key, size and an ETag (that checksum) are kept. Reading one back
 * fails with a PERMANENT {@link ObjectStorageException} that says the bytes were dropped, so a
 * benchmark that reads (fetches from objects, compaction) cannot silently pass: use it only for
 * write benchmarks that never read objects. Every other key (the manifest) goes to {@code metadata},
 * a real store.
 *
 * <p>Thread-safe; futures complete on the calling thread. Memory: a map entry per data object.
 */
public final class OffDiskDataObjects implements ObjectStorage {
    private final ObjectStorage metadata;
    private final ConcurrentHashMap<String, ObjectInfo> dataObjects = new ConcurrentHashMap<>();
    private final ObjectStorageMetrics metrics = new ObjectStorageMetrics();

    /** @param metadata where every key that is not a data object's goes (not closed by {@link #close()}) */
    public OffDiskDataObjects(ObjectStorage metadata) {
        this.metadata = metadata;
    }

    private static boolean isDataObject(String key) {
        return ObjectKeys.parseObjectId(key) >= 0;
    }

    /** Data objects held (their sizes only), for the benchmark's report. */
    public long dataObjectBytes() {
        return dataObjects.values().stream().mapToLong(ObjectInfo::size).sum();
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        if (!isDataObject(key)) {
            return metadata.put(key, data, condition);
        }
        CRC32C crc = new CRC32C();
        long size;
        try {
            size = consume(crc, data);
        } finally {
            data.release();
        }
        return commit(key, size, crc, condition);
    }

    private static long consume(CRC32C crc, ByteBuf data) {
        long size = data.readableBytes();
        for (ByteBuffer b : data.nioBuffers()) {
            crc.update(b);
        }
        return size;
    }

    private CompletableFuture<ObjectInfo> commit(String key, long size, CRC32C crc, PutCondition condition) {
        ObjectInfo info = new ObjectInfo(key, size, "\"crc32c-" + Long.toHexString(crc.getValue()) + "\"");
        if (condition.matchEtag() != null) {
            return CompletableFuture.failedFuture(new ObjectStorageException(ObjectStorageException.Kind.PERMANENT,
                    Operation.PUT, key, 0, "If-Match writes of data objects are not supported by this benchmark store", null));
        }
        if (condition.isIfAbsent()) {
            if (dataObjects.putIfAbsent(key, info) != null) {
                metrics.record(Operation.PUT, size, 0, ObjectStorageException.Kind.PRECONDITION_FAILED);
                return CompletableFuture.failedFuture(new PreconditionFailedException(Operation.PUT, key, 412, "object exists", null));
            }
        } else {
            dataObjects.put(key, info);
        }
        metrics.record(Operation.PUT, size, 0, null);
        return CompletableFuture.completedFuture(info);
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        if (!isDataObject(key)) {
            return metadata.startUpload(key, condition);
        }
        return new ObjectUpload() {
            private final CRC32C crc = new CRC32C();
            private long written;
            private boolean finished;

            @Override
            public String key() {
                return key;
            }

            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                try {
                    if (finished) {
                        return CompletableFuture.failedFuture(new IllegalStateException("upload finished: key=" + key));
                    }
                    written += consume(crc, data);
                    return CompletableFuture.completedFuture(null);
                } finally {
                    data.release();
                }
            }

            @Override
            public long bytesWritten() {
                return written;
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                finished = true;
                return commit(key, written, crc, condition);
            }

            @Override
            public CompletableFuture<Void> abort() {
                finished = true;
                return CompletableFuture.completedFuture(null);
            }
        };
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        if (!isDataObject(key)) {
            return metadata.get(key, range);
        }
        return CompletableFuture.failedFuture(new ObjectStorageException(ObjectStorageException.Kind.PERMANENT,
                Operation.GET, key, 0, "this benchmark store dropped the bytes of data objects; it serves write benchmarks only", null));
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        if (!isDataObject(key)) {
            return metadata.head(key);
        }
        ObjectInfo info = dataObjects.get(key);
        return info != null ? CompletableFuture.completedFuture(info)
                : CompletableFuture.failedFuture(new dev.strata.objectstore.ObjectNotFoundException(Operation.HEAD, key, 404, "no such object", null));
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        List<String> others = new ArrayList<>();
        for (String key : keys) {
            if (isDataObject(key)) {
                dataObjects.remove(key);
            } else {
                others.add(key);
            }
        }
        return others.isEmpty() ? CompletableFuture.completedFuture(null) : metadata.delete(others);
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return metadata.list(prefix).thenApply(listed -> {
            List<ObjectInfo> all = new ArrayList<>(listed);
            dataObjects.forEach((key, info) -> {
                if (key.startsWith(prefix)) {
                    all.add(info);
                }
            });
            all.sort(java.util.Comparator.comparing(ObjectInfo::key));
            return all;
        });
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return metrics;
    }

    @Override
    public void close() {
    }
}
