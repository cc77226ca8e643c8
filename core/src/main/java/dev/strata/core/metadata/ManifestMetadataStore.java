package dev.strata.core.metadata;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectNotFoundException;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.PreconditionFailedException;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default {@link MetadataStore}: a manifest kept in the object store itself, so object storage
 * stays the only shared dependency.
 *
 * <h2>Layout</h2>
 * Under {@code <root>manifest/}: {@code log/<version>} holds the change that made metadata version
 * {@code version} (20-digit zero-padded, so keys sort by version); {@code snapshot/<version>} holds
 * the whole state at a version. Format: {@link ManifestDescriptor}.
 *
 * <h2>Concurrency and fencing</h2>
 * A change to version {@code v} is written with create-if-absent ({@code If-None-Match: *}) on
 * {@code log/v}: of two processes racing for the same version exactly one succeeds. The loser reads
 * what won, applies it, rebuilds its own change from the newer state and validates it again; if the
 * winner was a newer process's {@code RegisterNode}, the loser's change now fails with
 * {@link dev.strata.api.StreamFencedException}. Changes run one at a time on the thread
 * "strata-metadata"; the local view is read under a lock without I/O.
 *
 * <h2>Durability and failure</h2>
 * A change is applied locally only after its log entry is stored. If the write fails with an
 * unknown outcome (a timeout after the server stored it), the call fails with
 * {@link StorageException}; the next change then finds the entry (by its writer id) and applies it,
 * so the metadata never forks. Such a change did happen: trims and commits are idempotent, so a
 * caller's retry is harmless.
 *
 * <h2>Group commit</h2>
 * One log entry holds every change that queued while the previous entry was being written
 * ({@link AbstractMetadataStore}), so a burst of changes costs one conditional PUT per storage
 * round trip rather than one per change.
 *
 * <h2>Bounded size</h2>
 * A snapshot is written at least {@code snapshotInterval} versions after the previous one, once the
 * log since that snapshot weighs half as much as it (or after {@link #MAX_INTERVAL_FACTOR}
 * intervals), so the bytes written for snapshots stay proportional to the bytes of changes even
 * when the state is large. Logs and snapshots older than the previous snapshot are deleted, so
 * opening reads one snapshot and at most {@code 2 * MAX_INTERVAL_FACTOR * snapshotInterval} log
 * entries, {@link #READ_AHEAD} at a time. Keeping one extra snapshot's worth lets a process that is
 * opening while a snapshot is written still find the entries after the snapshot it listed. Both
 * hold live streams and objects only: a deleted stream or a dropped object leaves the next
 * snapshot.
 */
public final class ManifestMetadataStore extends AbstractMetadataStore {

    private static final Logger LOG = LoggerFactory.getLogger(ManifestMetadataStore.class);

    /** Default versions between snapshots: small enough that opening reads few files, large enough to write few snapshots. */
    public static final int DEFAULT_SNAPSHOT_INTERVAL = 64;

    /** Most snapshot intervals between two snapshots when the state is large and its changes small. */
    static final int MAX_INTERVAL_FACTOR = 16;

    /** Log entries read at once when opening. */
    private static final int READ_AHEAD = 32;

    /** Bound on waiting for one storage call; the storage retries inside it. */
    private static final long STORAGE_TIMEOUT_SECONDS = 120;

    /** Default bound on {@link #close()}: as long as one storage call may take. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(STORAGE_TIMEOUT_SECONDS);

    private final ObjectStorage storage;
    private final String root;
    private final int snapshotInterval;
    private final ExecutorService writer;
    /** Identifies this store instance's log entries (see Durability). */
    private final long writerId;
    // writer thread only
    private long writerSequence;
    /** Writer only: the version of the newest snapshot written or loaded (0: none). */
    private long lastSnapshotVersion;
    /** Writer only: the size of that snapshot (0: none or unknown). */
    private long lastSnapshotBytes;
    /** Writer only: bytes of the log entries after that snapshot that this store wrote or read. */
    private long logBytesSinceSnapshot;
    /** Bounds {@link #close()}: how long it waits for a change in progress and for background work. */
    private final long closeTimeoutNanos;
    /** Snapshot writes and cleanups in flight; close() waits for them. */
    private final Set<CompletableFuture<Void>> background = ConcurrentHashMap.newKeySet();

    private ManifestMetadataStore(ObjectStorage storage, String root, int snapshotInterval, MetadataState state,
            ExecutorService writer, Duration closeTimeout) {
        super(state, writer);
        this.closeTimeoutNanos = closeTimeout.toNanos();
        this.storage = storage;
        this.root = root;
        this.snapshotInterval = snapshotInterval;
        this.writer = writer;
        this.writerId = new SecureRandom().nextLong();
    }

    /**
     * Loads the manifest under {@code root} (empty if none exists yet). Blocks on storage I/O.
     *
     * @param storage the object store holding the manifest; not closed by this store
     * @param root key prefix ("" or ending with '/') under which {@code manifest/} lives
     * @param snapshotInterval versions between snapshots, at least 2
     * @param closeTimeout bounds {@link #close()}: how long it waits for a change in progress and for
     *     background work (snapshots, clean-up) before it gives up on them; zero or more
     * @throws StorageException if the storage fails
     * @throws CorruptDataException if a manifest file is damaged
     */
    public static ManifestMetadataStore open(ObjectStorage storage, String root, int snapshotInterval,
            Duration closeTimeout) {
        if (root == null || (!root.isEmpty() && !root.endsWith("/"))) {
            throw new IllegalArgumentException("root must be empty or end with '/', got " + root);
        }
        if (snapshotInterval < 2) {
            throw new IllegalArgumentException("snapshotInterval must be >= 2, got " + snapshotInterval);
        }
        if (closeTimeout == null || closeTimeout.isNegative()) {
            throw new IllegalArgumentException("closeTimeout must be >= 0, got " + closeTimeout);
        }
        ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "strata-metadata");
            t.setDaemon(true);
            return t;
        });
        ManifestMetadataStore store = new ManifestMetadataStore(storage, root, snapshotInterval, new MetadataState(), writer,
                closeTimeout);
        try {
            await(CompletableFuture.runAsync(() -> store.catchUp(true), writer));
        } catch (RuntimeException e) {
            writer.shutdownNow();
            throw e;
        }
        LOG.info("manifest loaded: root={} version={} streams={} objects={}", root, store.version(),
                store.streams().size(), store.objects().size());
        return store;
    }

    /** {@link #open(ObjectStorage, String, int, Duration)} with {@link #DEFAULT_CLOSE_TIMEOUT}. */
    public static ManifestMetadataStore open(ObjectStorage storage, String root, int snapshotInterval) {
        return open(storage, root, snapshotInterval, DEFAULT_CLOSE_TIMEOUT);
    }

    /** {@link #open(ObjectStorage, String, int, Duration)} with {@link #DEFAULT_SNAPSHOT_INTERVAL} and {@link #DEFAULT_CLOSE_TIMEOUT}. */
    public static ManifestMetadataStore open(ObjectStorage storage, String root) {
        return open(storage, root, DEFAULT_SNAPSHOT_INTERVAL, DEFAULT_CLOSE_TIMEOUT);
    }

    @Override
    protected boolean persist(List<MetadataChange> changes, long version) {
        long sequence = ++writerSequence;
        byte[] entry = ManifestCodec.encodeLog(version, writerId, sequence, changes);
        try {
            await(storage.put(logKey(version), Unpooled.wrappedBuffer(entry), PutCondition.ifAbsent()));
            logBytesSinceSnapshot += entry.length;
            return true;
        } catch (PreconditionFailedException lost) {
            ManifestCodec.LogEntry found = readLog(version)
                    .orElseThrow(() -> new StorageException("manifest entry vanished after a conflicting write: key="
                            + logKey(version), true));
            if (found.writerId() == writerId && found.writerSequence() == sequence) {
                return true; // our own write landed; the conflict came from a retry of it
            }
            applyFound(found.changes());
            catchUp(false);
            return false;
        }
    }

    @Override
    protected void afterApply(MetadataState state) {
        long version = state.version();
        if (!snapshotDue(version - lastSnapshotVersion)) {
            return;
        }
        byte[] snapshot = ManifestCodec.encodeSnapshot(state);
        long previous = lastSnapshotVersion;
        lastSnapshotVersion = version;
        lastSnapshotBytes = snapshot.length;
        logBytesSinceSnapshot = 0;
        CompletableFuture<Void> work = storage.put(snapshotKey(version), Unpooled.wrappedBuffer(snapshot))
                .thenCompose(info -> deleteOlderThan(previous));
        background.add(work);
        work.whenComplete((v, e) -> {
            background.remove(work);
            if (e != null) {
                LOG.warn("manifest snapshot or cleanup failed (will retry at the next snapshot): version={}", version, e);
            }
        });
    }

    /**
     * Whether a snapshot is due after {@code entries} log entries since the last one. At least
     * {@code snapshotInterval} entries apart, and then once the log since the last snapshot weighs
     * half as much as that snapshot (so the bytes written for snapshots stay proportional to the
     * bytes of changes, however many streams the state holds), or after {@link #MAX_INTERVAL_FACTOR}
     * intervals (so an opener reads a bounded number of entries).
     */
    private boolean snapshotDue(long entries) {
        return entries >= snapshotInterval
                && (logBytesSinceSnapshot >= lastSnapshotBytes / 2 || entries >= (long) MAX_INTERVAL_FACTOR * snapshotInterval);
    }

    /** Deletes log entries at or below {@code version} and snapshots below it. */
    private CompletableFuture<Void> deleteOlderThan(long version) {
        if (version <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<List<ObjectInfo>> logs = storage.list(root + "manifest/log/");
        CompletableFuture<List<ObjectInfo>> snapshots = storage.list(root + "manifest/snapshot/");
        return logs.thenCombine(snapshots, (l, s) -> {
            List<String> doomed = new ArrayList<>();
            for (ObjectInfo info : l) {
                if (versionOf(info.key()) <= version) {
                    doomed.add(info.key());
                }
            }
            for (ObjectInfo info : s) {
                if (versionOf(info.key()) < version) {
                    doomed.add(info.key());
                }
            }
            return doomed;
        }).thenCompose(doomed -> doomed.isEmpty() ? CompletableFuture.completedFuture(null) : storage.delete(doomed));
    }

    /**
     * Brings the local state up to the newest stored version: loads a newer snapshot if there is
     * one, then applies log entries until the next version does not exist. With {@code listLog}, the
     * entries listed after the snapshot are read {@link #READ_AHEAD} at a time (an open over S3
     * would otherwise wait one request latency per entry); the rest are probed one by one. Runs on
     * the writer.
     */
    private void catchUp(boolean listLog) {
        long latestSnapshot = -1;
        for (ObjectInfo info : await(storage.list(root + "manifest/snapshot/"))) {
            latestSnapshot = Math.max(latestSnapshot, versionOf(info.key()));
        }
        if (latestSnapshot > version()) {
            String key = snapshotKey(latestSnapshot);
            ByteBuffer bytes = read(key)
                    .orElseThrow(() -> new StorageException("manifest snapshot listed but missing: key=" + key, true));
            replaceState(ManifestCodec.decodeSnapshot(key, latestSnapshot, bytes));
            lastSnapshotVersion = latestSnapshot;
            lastSnapshotBytes = bytes.remaining();
            logBytesSinceSnapshot = 0;
        }
        if (listLog) {
            readListedEntries();
        }
        for (long v = version() + 1; ; v++) {
            String key = logKey(v);
            Optional<ByteBuffer> entry = read(key);
            if (entry.isEmpty()) {
                return;
            }
            apply(key, v, entry.get());
        }
    }

    /** Applies the log entries listed after the current version, in order, until the first gap. */
    private void readListedEntries() {
        List<Long> versions = new ArrayList<>();
        long from = version();
        for (ObjectInfo info : await(storage.list(root + "manifest/log/"))) {
            long v = versionOf(info.key());
            if (v > from) {
                versions.add(v);
            }
        }
        versions.sort(null);
        for (int start = 0; start < versions.size(); start += READ_AHEAD) {
            List<Long> window = versions.subList(start, Math.min(versions.size(), start + READ_AHEAD));
            List<CompletableFuture<Optional<ByteBuffer>>> reads = new ArrayList<>(window.size());
            for (long v : window) {
                reads.add(readAsync(logKey(v)));
            }
            for (int i = 0; i < window.size(); i++) {
                long v = window.get(i);
                Optional<ByteBuffer> entry = await(reads.get(i));
                if (v != version() + 1 || entry.isEmpty()) {
                    return; // a gap (or an entry deleted since the listing): probe one by one from here
                }
                apply(logKey(v), v, entry.get());
            }
        }
    }

    private void apply(String key, long version, ByteBuffer entry) {
        logBytesSinceSnapshot += entry.remaining();
        applyFound(ManifestCodec.decodeLog(key, version, entry).changes());
    }

    private Optional<ManifestCodec.LogEntry> readLog(long version) {
        String key = logKey(version);
        return read(key).map(bytes -> ManifestCodec.decodeLog(key, version, bytes));
    }

    private Optional<ByteBuffer> read(String key) {
        return await(readAsync(key));
    }

    /** The object's bytes, copied to the heap (its buffer is released), or empty if it does not exist. */
    private CompletableFuture<Optional<ByteBuffer>> readAsync(String key) {
        return storage.get(key, ByteRange.all()).handle((data, failure) -> {
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                if (cause instanceof ObjectNotFoundException) {
                    return Optional.empty();
                }
                throw cause instanceof RuntimeException r ? r : new CompletionException(cause);
            }
            try {
                ByteBuffer copy = ByteBuffer.allocate(data.content().readableBytes());
                data.content().getBytes(data.content().readerIndex(), copy);
                copy.flip();
                return Optional.of(copy);
            } finally {
                data.release();
            }
        });
    }

    private String logKey(long version) {
        return root + "manifest/log/" + String.format("%020d", version);
    }

    private String snapshotKey(long version) {
        return root + "manifest/snapshot/" + String.format("%020d", version);
    }

    private static long versionOf(String key) {
        String name = key.substring(key.lastIndexOf('/') + 1);
        try {
            return Long.parseLong(name);
        } catch (NumberFormatException e) {
            throw new CorruptDataException("unexpected manifest key: key=" + key);
        }
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(STORAGE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause();
            while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new StorageException("manifest storage call failed", true, cause);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new StorageException("manifest storage call timed out after " + STORAGE_TIMEOUT_SECONDS + " s", true, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while waiting for manifest storage", true, e);
        }
    }

    /** The metadata version of the local view (for tests and diagnostics). */
    long snapshotStateVersion() {
        return version();
    }

    /**
     * Refuses new changes and waits, at most its close timeout each, for the change in progress
     * and for background work. A change still waiting for the object store then (an outage) is
     * interrupted and fails with {@link StorageException}: its entry may still land, and is then
     * found by the next process that opens the manifest, like any write with an unknown outcome.
     * Background work given up on (a snapshot) is only an optimisation: the log has every change.
     * Changes still queued fail with {@link dev.strata.api.StreamClosedException}: every future this
 * store handed out is complete when {@code close()} returns. Releases the writer thread; does not
 * close the object storage. Idempotent.
     */
    @Override
    public void close() {
        markClosed();
        writer.shutdown();
        long bound = closeTimeoutNanos;
        try {
            if (!writer.awaitTermination(bound, TimeUnit.NANOSECONDS)) {
                LOG.warn("manifest change still waiting for the object store {} ms after close; interrupting it",
                        TimeUnit.NANOSECONDS.toMillis(bound));
                writer.shutdownNow();
                writer.awaitTermination(1, TimeUnit.SECONDS);
            }
            CompletableFuture.allOf(background.toArray(new CompletableFuture<?>[0])).get(bound, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.warn("manifest background work did not finish cleanly at close: {}", e.toString());
        } finally {
            failQueued();
        }
    }
}
