package dev.strata.objectstore.testing;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectNotFoundException;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageMetrics;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PreconditionFailedException;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * An {@link ObjectStorage} in memory, with the same semantics as the real ones (conditional writes,
 * clamped ranges, sorted lists); futures complete on the calling thread. For fast tests of the
 * layers above, and for property tests that write thousands of objects. Thread-safe (one lock).
 * Every call counts one request in {@link #metrics()}, so tests can count GETs.
 */
public final class InMemoryObjectStorage implements ObjectStorage {
    private record Stored(byte[] bytes, String etag) {
    }

    private final Map<String, Stored> objects = new TreeMap<>(); // guarded by: this
    private long version; // guarded by: this
    private final ObjectStorageMetrics metrics = new ObjectStorageMetrics();

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        try {
            ObjectKeys.validate(key);
            return CompletableFuture.completedFuture(store(key, ByteBufUtil.getBytes(data), condition));
        } catch (ObjectStorageException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            data.release();
        }
    }

    private synchronized ObjectInfo store(String key, byte[] bytes, PutCondition condition) {
        Stored current = objects.get(key);
        boolean failed = false;
        try {
            if (condition.isIfAbsent() && current != null) {
                failed = true;
                throw new PreconditionFailedException(Operation.PUT, key, 412, "object exists", null);
            }
            if (condition.matchEtag() != null) {
                if (current == null) {
                    failed = true;
                    throw new ObjectNotFoundException(Operation.PUT, key, 404, "no such object", null);
                }
                if (!current.etag().equals(condition.matchEtag())) {
                    failed = true;
                    throw new PreconditionFailedException(Operation.PUT, key, 412, "etag changed", null);
                }
            }
            String etag = "\"v" + (++version) + "\"";
            objects.put(key, new Stored(bytes, etag));
            return new ObjectInfo(key, bytes.length, etag);
        } finally {
            metrics.record(Operation.PUT, bytes.length, 0, failed ? ObjectStorageException.Kind.PRECONDITION_FAILED : null);
        }
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        ObjectKeys.validate(key);
        return new ObjectUpload() {
            private final ByteArrayOutputStream out = new ByteArrayOutputStream();
            private boolean finished;

            @Override
            public String key() {
                return key;
            }

            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                try {
                    if (finished) {
                        throw new IllegalStateException("upload finished: key=" + key);
                    }
                    out.writeBytes(ByteBufUtil.getBytes(data));
                    return CompletableFuture.completedFuture(null);
                } finally {
                    data.release();
                }
            }

            @Override
            public long bytesWritten() {
                return out.size();
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                finished = true;
                return put(key, Unpooled.wrappedBuffer(out.toByteArray()), condition);
            }

            @Override
            public CompletableFuture<Void> abort() {
                finished = true;
                return CompletableFuture.completedFuture(null);
            }
        };
    }

    @Override
    public synchronized CompletableFuture<ObjectData> get(String key, ByteRange range) {
        ObjectKeys.validate(key);
        Stored s = objects.get(key);
        if (s == null) {
            metrics.record(Operation.GET, 0, 0, ObjectStorageException.Kind.NOT_FOUND);
            return CompletableFuture.failedFuture(new ObjectNotFoundException(Operation.GET, key, 404, "no such object", null));
        }
        long size = s.bytes().length;
        long pos;
        long len;
        if (range.isAll()) {
            pos = 0;
            len = size;
        } else if (range.isSuffix()) {
            len = Math.min(size, range.length());
            pos = size - len;
        } else {
            pos = range.position();
            if (pos >= size && size > 0 || pos > 0 && size == 0) {
                metrics.record(Operation.GET, 0, 0, ObjectStorageException.Kind.PERMANENT);
                return CompletableFuture.failedFuture(new ObjectStorageException(ObjectStorageException.Kind.PERMANENT,
                        Operation.GET, key, 416, "range not satisfiable: range=" + range + " size=" + size, null));
            }
            len = Math.min(range.length(), size - pos);
        }
        metrics.record(Operation.GET, len, 0, null);
        ByteBuf copy = Unpooled.buffer((int) len);
        copy.writeBytes(s.bytes(), (int) pos, (int) len);
        return CompletableFuture.completedFuture(new ObjectData(key, copy, pos, size, s.etag()));
    }

    @Override
    public synchronized CompletableFuture<ObjectInfo> head(String key) {
        ObjectKeys.validate(key);
        Stored s = objects.get(key);
        metrics.record(Operation.HEAD, 0, 0, s == null ? ObjectStorageException.Kind.NOT_FOUND : null);
        return s == null
                ? CompletableFuture.failedFuture(new ObjectNotFoundException(Operation.HEAD, key, 404, "no such object", null))
                : CompletableFuture.completedFuture(new ObjectInfo(key, s.bytes().length, s.etag()));
    }

    @Override
    public synchronized CompletableFuture<Void> delete(Collection<String> keys) {
        int n = 0;
        for (String k : keys) {
            ObjectKeys.validate(k);
            if (n++ % MAX_KEYS_PER_DELETE == 0) {
                metrics.record(Operation.DELETE, 0, 0, null);
            }
            objects.remove(k);
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<List<ObjectInfo>> list(String prefix) {
        metrics.record(Operation.LIST, 0, 0, null);
        List<ObjectInfo> out = new ArrayList<>();
        for (Map.Entry<String, Stored> e : objects.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                out.add(new ObjectInfo(e.getKey(), e.getValue().bytes().length, e.getValue().etag()));
            }
        }
        return CompletableFuture.completedFuture(out);
    }

    /** The stored bytes of {@code key} (a copy), for tests that corrupt objects. */
    public synchronized byte[] bytes(String key) {
        Stored s = objects.get(key);
        return s == null ? null : s.bytes().clone();
    }

    /** Replaces the stored bytes of {@code key} without any check, e.g. to corrupt or truncate it. */
    public synchronized void overwrite(String key, byte[] bytes) {
        objects.put(key, new Stored(bytes.clone(), "\"v" + (++version) + "\""));
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return metrics;
    }

    @Override
    public void close() {
    }
}
