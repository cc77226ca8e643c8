package dev.strata.jmh.core;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The object storage a metadata measurement runs on, with the WAL in a scratch directory beside it
 * (see {@link BenchDirs}). {@code store} is one of
 * <ul>
 *   <li>{@value #LOCAL}: a local directory, the embedded default's layout ({@code <dir>/data/objects});</li>
 *   <li>{@value #S3_IN_PROCESS}: an S3-compatible server (S3Proxy) started in this JVM on loopback,
 *       keeping its objects as files under the scratch directory ({@link InProcessS3});</li>
 *   <li>an {@code s3://bucket/prefix?endpoint=...} URI of a server running elsewhere: this backend
 *       works under a fresh sub-prefix of it and deletes what it wrote when closed.</li>
 * </ul>
 * With {@code putLatencyMillis > 0} the storage is wrapped in a {@link PutLatencyStorage}. The store is
 * built through the public builder only: {@code dataDir} (the WAL) plus {@code objectStorage}.
 * Not thread-safe; one measurement uses one backend.
 */
final class MetadataBackend implements AutoCloseable {
    static final String LOCAL = "local";
    static final String S3_IN_PROCESS = "s3-in-process";
    static final long WAL_CAPACITY = 256L << 20;

    private final Path dir;
    private final InProcessS3 s3; // null unless S3_IN_PROCESS
    private final boolean external;
    private final ObjectStorage storage;
    private final String description;

    private MetadataBackend(Path dir, InProcessS3 s3, boolean external, ObjectStorage storage, String description) {
        this.dir = dir;
        this.s3 = s3;
        this.external = external;
        this.storage = storage;
        this.description = description;
    }

    static MetadataBackend open(String store, long putLatencyMillis) throws Exception {
        if (putLatencyMillis < 0) {
            throw new IllegalArgumentException("putLatencyMillis must be >= 0, got " + putLatencyMillis);
        }
        Path dir = BenchDirs.create("strata-metadata");
        InProcessS3 s3 = null;
        ObjectStorage storage;
        String kind;
        try {
            if (store.equals(LOCAL)) {
                Path objects = Files.createDirectories(dir.resolve("data").resolve("objects"));
                storage = ObjectStorages.fromUri(objects.toUri());
                kind = "local directory";
            } else if (store.equals(S3_IN_PROCESS)) {
                s3 = InProcessS3.start(Files.createDirectories(dir.resolve("s3")));
                storage = ObjectStorages.fromUri(s3.objectStoreUri("metadata"));
                kind = "S3Proxy in this JVM";
            } else if (store.startsWith("s3://")) {
                storage = ObjectStorages.fromUri(freshPrefix(store));
                kind = "S3 server " + store.replaceAll("secretKey=[^&]*", "secretKey=***");
            } else {
                throw new IllegalArgumentException("store must be '" + LOCAL + "', '" + S3_IN_PROCESS
                        + "' or an s3:// URI, got '" + store + "'");
            }
        } catch (Exception e) {
            if (s3 != null) {
                s3.close();
            }
            BenchDirs.delete(dir);
            throw e;
        }
        if (putLatencyMillis > 0) {
            storage = new PutLatencyStorage(storage, putLatencyMillis);
        }
        return new MetadataBackend(dir, s3, store.startsWith("s3://"), storage,
                kind + (putLatencyMillis > 0 ? ", +" + putLatencyMillis + " ms per PUT" : ""));
    }

    /** {@code s3://bucket/prefix?query} with {@code /metadata-<nanos>} appended to the prefix. */
    private static URI freshPrefix(String uri) {
        int q = uri.indexOf('?');
        String base = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? "" : uri.substring(q);
        String sep = base.endsWith("/") ? "" : "/";
        return URI.create(base + sep + "metadata-" + System.nanoTime() + query);
    }

    /** Opens (or reopens) the store on this backend; the caller closes it. */
    DurableStreamStore openStore() {
        return Strata.builder().dataDir(dir.resolve("data")).walCapacity(WAL_CAPACITY).objectStorage(storage).build();
    }

    /** The storage the store runs on (with the added latency, if any). */
    ObjectStorage storage() {
        return storage;
    }

    String description() {
        return description;
    }

    /** Objects and bytes under {@code manifest/}: snapshots and log entries apart. */
    record ManifestSize(int snapshotObjects, long snapshotBytes, int logObjects, long logBytes) {
        long totalBytes() {
            return snapshotBytes + logBytes;
        }
    }

    ManifestSize manifestSize() {
        int snapshots = 0;
        int logs = 0;
        long snapshotBytes = 0;
        long logBytes = 0;
        for (ObjectInfo info : storage.list("manifest/").join()) {
            if (info.key().startsWith("manifest/snapshot/")) {
                snapshots++;
                snapshotBytes += info.size();
            } else {
                logs++;
                logBytes += info.size();
            }
        }
        return new ManifestSize(snapshots, snapshotBytes, logs, logBytes);
    }

    /**
     * Closes the storage and the in-process server and deletes the scratch directory; on an external
     * server, first deletes the objects this backend wrote.
     */
    @Override
    public void close() {
        try {
            if (external) {
                List<String> keys = new ArrayList<>();
                for (ObjectInfo info : storage.list("").join()) {
                    keys.add(info.key());
                }
                storage.delete(keys).join();
            }
            storage.close();
            if (s3 != null) {
                s3.close();
            }
        } finally {
            BenchDirs.delete(dir);
        }
    }
}
