package dev.strata.core;

import dev.strata.core.compaction.CompactionPlanner;
import dev.strata.core.recovery.WalReplay;
import dev.strata.api.StrataException;
import dev.strata.api.StorageException;
import dev.strata.api.StorageInUseException;
import dev.strata.cache.LogCache;
import dev.strata.core.metadata.ManifestMetadataStore;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.OwnershipLock;
import dev.strata.wal.WalOptions;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point: {@code Strata.builder().dataDir(dir).build()} opens a durable {@link DurableStreamStore}.
 *
 * <pre>{@code
 * try (DurableStreamStore store = Strata.builder().dataDir(Path.of("/var/lib/strata")).build()) {
 *     Stream s = store.createStream(StreamOptions.defaults()).join();
 *     s.append(RecordBatch.of(1, ByteBuffer.wrap(bytes))).join();
 * }
 * }</pre>
 *
 * <p>{@code build()} locks the data directory and the WAL (one store at a time), opens the WAL, opens
 * the object store and the metadata (the manifest in the object store by default), registers in it
 * (fencing any previous process on the same metadata), replays what the WAL holds beyond the
 * committed data, uploads and commits it, then serves.
 */
public final class Strata {
    private static final Logger LOG = LoggerFactory.getLogger(Strata.class);

    private Strata() {
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Settings of a store. Setters check their value at once (naming the setting and the value);
     * {@link #build()} checks combinations. Not thread-safe.
     */
    public static final class Builder {
        /** Default WAL size: 1 GiB holds minutes of data at typical rates until it reaches objects. */
        public static final long DEFAULT_WAL_CAPACITY_BYTES = 1L << 30;
        /** Default LogCache size: recent data for tailing readers plus what awaits upload. */
        public static final long DEFAULT_LOG_CACHE_BYTES = 256L << 20;
        /** Default BlockCache size for catch-up readers. */
        public static final long DEFAULT_BLOCK_CACHE_BYTES = 256L << 20;
        /** Default bound on bytes being read from objects at once (catch-up reads). */
        public static final long DEFAULT_MAX_IN_FLIGHT_READ_BYTES = 64L << 20;
        /** Default upload trigger by size: large objects keep request costs low. */
        public static final long DEFAULT_UPLOAD_THRESHOLD_BYTES = 64L << 20;
        /** Default upload trigger by age: bounds how much the WAL holds and how stale objects are. */
        public static final Duration DEFAULT_UPLOAD_INTERVAL = Duration.ofSeconds(5);
        /** Default largest batch payload (smaller where a small walCapacity or logCacheBytes set by the user needs it). */
        public static final int DEFAULT_MAX_BATCH_BYTES = 1 << 20;
        /**
         * Largest {@link #maxBatchBytes} accepted: 32 MiB. A batch goes to the WAL in one write, so the WAL's
         * write buffers are the next power of two above it (64 MiB each, six of them, at this maximum).
         */
        public static final int MAX_BATCH_BYTES = 32 << 20;
        /** Smallest {@link #walCapacity}: room for four of the smallest WAL writes (256 KiB). */
        public static final long MIN_WAL_CAPACITY_BYTES = 1L << 20;
        /** Default bound on how long an append waits for WAL or cache room before BackpressureException. */
        public static final Duration DEFAULT_APPEND_BACKPRESSURE_WAIT = Duration.ofMillis(500);
        /** Default share of one upload above which a stream gets its own stream object (DESIGN: large streams). */
        public static final long DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES = 8L << 20;
        /** Default data block size in objects: the unit of catch-up reads and caching. */
        public static final int DEFAULT_OBJECT_BLOCK_BYTES = 1 << 20;

        /** Default time between compaction cycles. */
        public static final Duration DEFAULT_COMPACTION_INTERVAL = Duration.ofMinutes(5);
        /** Default size compaction aims at for the objects it writes. */
        public static final long DEFAULT_COMPACTION_TARGET_OBJECT_BYTES = 256L << 20;
        /** Default age after which a stream's data leaves stream-set objects whatever its size. */
        public static final Duration DEFAULT_STREAM_SET_SPLIT_AGE = Duration.ofHours(1);
        /** Default time a replaced object stays readable before it is deleted. */
        public static final Duration DEFAULT_GARBAGE_GRACE_PERIOD = Duration.ofMinutes(2);
        /** Default time an unreferenced object found by listing waits before it is deleted. */
        public static final Duration DEFAULT_ORPHAN_TTL = Duration.ofMinutes(30);
        /** Default limit on compaction reads. */
        public static final long DEFAULT_COMPACTION_BYTES_PER_SECOND = 64L << 20;
        /** Default of {@link #closeUploadTimeout}. */
        public static final Duration DEFAULT_CLOSE_UPLOAD_TIMEOUT = DefaultStreamStore.DEFAULT_CLOSE_UPLOAD_TIMEOUT;
        /** Default of {@link #objectStoreOpenTimeout}. */
        public static final Duration DEFAULT_OBJECT_STORE_OPEN_TIMEOUT = Duration.ofSeconds(10);

        private Path dataDir;
        private Path walPath;
        private Long walCapacityBytes; // null: not set, derived at build (see resolve)
        private WalOptions.Backend walBackend = WalOptions.Backend.AUTO;
        private boolean unsafeSkipWalSync;
        private URI objectStoreUri;
        private ObjectStorage objectStorage;
        private MetadataStore metadataStore;
        private Long logCacheBytes; // null: not set
        private long blockCacheBytes = DEFAULT_BLOCK_CACHE_BYTES;
        private long maxInFlightReadBytes = DEFAULT_MAX_IN_FLIGHT_READ_BYTES;
        private Long uploadThresholdBytes; // null: not set
        private Duration uploadInterval = DEFAULT_UPLOAD_INTERVAL;
        private Duration uploadRetryBackoff = Duration.ofMillis(100);
        private Duration appendBackpressureWait = DEFAULT_APPEND_BACKPRESSURE_WAIT;
        private Integer maxBatchBytes; // null: not set
        private int objectBlockBytes = DEFAULT_OBJECT_BLOCK_BYTES;
        private long streamObjectThresholdBytes = DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES;
        private Duration compactionInterval = DEFAULT_COMPACTION_INTERVAL;
        private long compactionTargetObjectBytes = DEFAULT_COMPACTION_TARGET_OBJECT_BYTES;
        private Duration streamSetSplitAge = DEFAULT_STREAM_SET_SPLIT_AGE;
        private Duration garbageGracePeriod = DEFAULT_GARBAGE_GRACE_PERIOD;
        private Duration orphanTtl = DEFAULT_ORPHAN_TTL;
        private long compactionBytesPerSecond = DEFAULT_COMPACTION_BYTES_PER_SECOND;
        private Duration closeUploadTimeout = DEFAULT_CLOSE_UPLOAD_TIMEOUT;
        private Duration objectStoreOpenTimeout = DEFAULT_OBJECT_STORE_OPEN_TIMEOUT;
        private java.time.Clock clock = java.time.Clock.systemUTC();
        private boolean openDespiteLostWalData;
        private java.util.function.Function<WalOptions, BlockDeviceWal> walOpener = BlockDeviceWal::open;
        private java.util.concurrent.Executor callbackExecutor;
        private io.micrometer.core.instrument.MeterRegistry meterRegistry;
        private java.util.concurrent.Executor readExecutor;

        private Builder() {
        }

        private static void require(boolean ok, String message) {
            if (!ok) {
                throw new IllegalArgumentException(message);
            }
        }

        /**
         * The embedded default: the WAL as a preallocated file {@code dataDir/wal/strata.wal} and objects
         * in {@code dataDir/objects}, unless {@link #walPath} or an object store is set.
         */
        public Builder dataDir(Path dir) {
            require(dir != null, "dataDir must not be null");
            this.dataDir = dir;
            return this;
        }

        /** A block device or file for the WAL (a file is created and preallocated if absent). */
        public Builder walPath(Path path) {
            require(path != null, "walPath must not be null");
            this.walPath = path;
            return this;
        }

        /**
         * WAL size in bytes for a file WAL (a block device's size is its own): a multiple of 4096, at
         * least {@link #MIN_WAL_CAPACITY_BYTES}. Default {@link #DEFAULT_WAL_CAPACITY_BYTES}, or twice
         * {@link #uploadThresholdBytes} if that is set larger. An existing WAL file keeps the capacity it
         * was created with; one smaller than this setting fails {@link #build()}.
         */
        public Builder walCapacity(long bytes) {
            require(bytes >= MIN_WAL_CAPACITY_BYTES && bytes % 4096 == 0, "walCapacity must be a multiple of 4096 and >= "
                    + MIN_WAL_CAPACITY_BYTES + ", got " + bytes);
            this.walCapacityBytes = bytes;
            return this;
        }

        /** The WAL's I/O backend; default AUTO (io_uring where possible, else O_DIRECT, else buffered). */
        public Builder walBackend(WalOptions.Backend backend) {
            require(backend != null, "walBackend must not be null");
            this.walBackend = backend;
            return this;
        }

        /**
         * UNSAFE, for benchmarks only: acknowledge appends without syncing the WAL, so a power loss can
         * lose acknowledged data. Never enable it in production.
         */
        public Builder unsafeSkipWalSync(boolean skip) {
            this.unsafeSkipWalSync = skip;
            return this;
        }

        /** {@code file:///dir} or {@code s3://bucket/prefix?region=..&endpoint=..&pathStyle=..}. */
        public Builder objectStore(URI uri) {
            require(uri != null, "objectStore must not be null");
            this.objectStoreUri = uri;
            return this;
        }

        /** An object storage the caller owns (not closed with the store). */
        public Builder objectStorage(ObjectStorage storage) {
            require(storage != null, "objectStorage must not be null");
            this.objectStorage = storage;
            return this;
        }

        /** A metadata store the caller owns (not closed with the store); default: the manifest in the object store. */
        public Builder metadataStore(MetadataStore store) {
            require(store != null, "metadataStore must not be null");
            this.metadataStore = store;
            return this;
        }

        /**
         * Memory for recent appends (tail reads) and what awaits upload, appends in flight included.
         * Default {@link #DEFAULT_LOG_CACHE_BYTES}, or more where {@link #uploadThresholdBytes} or
         * {@link #maxBatchBytes} set by the user needs it (twice either).
         */
        public Builder logCacheBytes(long bytes) {
            require(bytes >= (1 << 20), "logCacheBytes must be >= 1 MiB, got " + bytes);
            this.logCacheBytes = bytes;
            return this;
        }

        public Builder blockCacheBytes(long bytes) {
            require(bytes >= (1 << 20), "blockCacheBytes must be >= 1 MiB, got " + bytes);
            this.blockCacheBytes = bytes;
            return this;
        }

        public Builder maxInFlightReadBytes(long bytes) {
            require(bytes >= (1 << 20), "maxInFlightReadBytes must be >= 1 MiB, got " + bytes);
            this.maxInFlightReadBytes = bytes;
            return this;
        }

        /**
         * Unuploaded bytes that trigger an upload: at most half of {@link #logCacheBytes} and of
         * {@link #walCapacity}. Default {@link #DEFAULT_UPLOAD_THRESHOLD_BYTES}, or a quarter of the
         * smaller of those two where that is less.
         */
        public Builder uploadThresholdBytes(long bytes) {
            require(bytes >= 1, "uploadThresholdBytes must be >= 1, got " + bytes);
            this.uploadThresholdBytes = bytes;
            return this;
        }

        /** Longest time acknowledged data waits before an upload starts. */
        public Builder uploadInterval(Duration interval) {
            require(interval != null && !interval.isNegative() && !interval.isZero(),
                    "uploadInterval must be positive, got " + interval);
            this.uploadInterval = interval;
            return this;
        }

        /** First wait after a failed upload; doubles on each failure up to 30 s. */
        public Builder uploadRetryBackoff(Duration backoff) {
            require(backoff != null && !backoff.isNegative() && !backoff.isZero(),
                    "uploadRetryBackoff must be positive, got " + backoff);
            this.uploadRetryBackoff = backoff;
            return this;
        }

        /**
         * How long an append may wait for a limit that refuses it (room in the LogCache, WAL capacity,
         * a free WAL write buffer) before it fails with {@code BackpressureException}; the append waits
         * for exactly the limit that refused it and tries again until this has passed, so no refusal
         * comes back earlier. Zero fails at once. The wait blocks the appending thread, holding no
         * lock; {@code close()} ends it ({@code StreamClosedException}).
         */
        public Builder appendBackpressureWait(Duration wait) {
            require(wait != null && !wait.isNegative(), "appendBackpressureWait must be >= 0, got " + wait);
            this.appendBackpressureWait = wait;
            return this;
        }

        /**
         * Largest payload of one batch, in [1, {@link #MAX_BATCH_BYTES}]; larger appends fail with
         * RecordTooLargeException. It needs {@link #logCacheBytes} of at least twice the batch and a
         * {@link #walCapacity} of at least four WAL write buffers (each the next power of two above the
         * batch plus 132 KiB). Default {@link #DEFAULT_MAX_BATCH_BYTES}, or less where a
         * {@code walCapacity} or {@code logCacheBytes} set by the user is too small for it.
         */
        public Builder maxBatchBytes(int bytes) {
            require(bytes >= 1 && bytes <= MAX_BATCH_BYTES, "maxBatchBytes must be in [1, " + MAX_BATCH_BYTES + "], got "
                    + bytes);
            this.maxBatchBytes = bytes;
            return this;
        }

        /** Target size of a data block in objects. */
        public Builder objectBlockBytes(int bytes) {
            require(bytes >= 1024 && bytes <= (64 << 20), "objectBlockBytes must be in [1 KiB, 64 MiB], got " + bytes);
            this.objectBlockBytes = bytes;
            return this;
        }

        /**
         * How the WAL is opened from the options the builder computed; default {@code BlockDeviceWal::open}.
         * For tests that inject device faults (e.g. the wal-blockdevice test-jar's
         * {@code FaultInjectingWal.open(options, plan)}); not needed in production.
         */
        public Builder walOpener(java.util.function.Function<WalOptions, BlockDeviceWal> opener) {
            require(opener != null, "walOpener must not be null");
            this.walOpener = opener;
            return this;
        }

        /**
         * A stream with at least this many bytes in one upload is written to its own stream object
         * (read without touching other streams' data); smaller shares go into the stream-set object.
         */
        public Builder streamObjectThresholdBytes(long bytes) {
            require(bytes >= 1, "streamObjectThresholdBytes must be >= 1, got " + bytes);
            this.streamObjectThresholdBytes = bytes;
            return this;
        }

        /**
         * Where append and fetch futures complete (and so where the caller's dependent stages run);
         * default: two "strata-callback" threads owned by the store. A stream's completions stay in
         * offset order on any executor. The store does not shut a given executor down. Never runs on
         * WAL or I/O threads.
         */
        public Builder callbackExecutor(java.util.concurrent.Executor executor) {
            require(executor != null, "callbackExecutor must not be null");
            this.callbackExecutor = executor;
            return this;
        }

        /**
         * Where catch-up reads from object storage run (they may block on I/O); default: four
         * "strata-read" threads owned by the store. Separate from the append path so catch-up reads
         * never delay appends or tail reads. The store does not shut a given executor down.
         */
        public Builder readExecutor(java.util.concurrent.Executor executor) {
            require(executor != null, "readExecutor must not be null");
            this.readExecutor = executor;
            return this;
        }

        /**
         * Publishes the store's metrics ({@code strata.*}: append latency and bytes, failures by type,
         * fetches by source, uploads, WAL and LogCache usage) to {@code registry}. Optional: without
         * it the store records nothing and Micrometer need not be on the class path.
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            require(registry != null, "meterRegistry must not be null");
            this.meterRegistry = registry;
            return this;
        }

        /**
         * Time between compaction and garbage-collection cycles (default 5 minutes);
         * {@link Duration#ZERO} schedules none ({@link DurableStreamStore#compact()} still runs one).
         */
        public Builder compactionInterval(Duration interval) {
            require(interval != null && !interval.isNegative(), "compactionInterval must be >= 0, got " + interval);
            this.compactionInterval = interval;
            return this;
        }

        /**
         * Size compaction aims at for the objects it writes (default 256 MiB): small stream objects are
         * merged up to it, stream-set remainders packed up to it.
         */
        public Builder compactionTargetObjectBytes(long bytes) {
            require(bytes >= 1, "compactionTargetObjectBytes must be >= 1, got " + bytes);
            this.compactionTargetObjectBytes = bytes;
            return this;
        }

        /**
         * Age after which a stream's data is split out of stream-set objects into a stream object
         * whatever its size (default 1 hour); data reaching {@link #streamObjectThresholdBytes} is
         * split at the next cycle.
         */
        public Builder streamSetSplitAge(Duration age) {
            require(age != null && !age.isNegative(), "streamSetSplitAge must be >= 0, got " + age);
            this.streamSetSplitAge = age;
            return this;
        }

        /**
         * How long an object replaced by compaction (or dropped after a trim or delete) stays in the
         * object store before it is deleted, so that reads that found it just before can finish
         * (default 2 minutes).
         */
        public Builder garbageGracePeriod(Duration grace) {
            require(grace != null && !grace.isNegative(), "garbageGracePeriod must be >= 0, got " + grace);
            this.garbageGracePeriod = grace;
            return this;
        }

        /**
         * How long an object found by listing, neither committed nor being written by this process
         * (an upload that crashed before its commit, an object replaced just before a crash), stays
         * before it is deleted (default 30 minutes, counted from when this process first saw it).
         */
        public Builder orphanTtl(Duration ttl) {
            require(ttl != null && !ttl.isNegative(), "orphanTtl must be >= 0, got " + ttl);
            this.orphanTtl = ttl;
            return this;
        }

        /** Limit on the bytes compaction reads per second (default 64 MiB/s); 0 means no limit. */
        public Builder compactionBytesPerSecond(long bytesPerSecond) {
            require(bytesPerSecond >= 0, "compactionBytesPerSecond must be >= 0, got " + bytesPerSecond);
            this.compactionBytesPerSecond = bytesPerSecond;
            return this;
        }

        /**
         * The wall clock behind data ages, the garbage grace period and the orphan TTL (default the
         * system UTC clock); tests pass a controllable one.
         */
        public Builder clock(java.time.Clock clock) {
            require(clock != null, "clock must not be null");
            this.clock = clock;
            return this;
        }

        /**
         * How long {@code close()} waits for its final upload of what the WAL holds (default 5 s).
         * When the object store does not answer in time (an outage), close gives up on uploading:
         * nothing acknowledged is lost (it stays in the WAL and is replayed and uploaded at the next
         * open), and close releases everything and returns. {@code 0} skips the wait.
         *
         * <p>Bounds of {@code close()} during an outage: catch-up fetches in flight fail at once with
         * {@code StreamClosedException}; then this wait; then at most 5 s for the upload threads to
         * stop once interrupted (they stop at once when waiting for the store); appends already
         * handed to the WAL are waited for at most 10 s (a WAL matter, not the store's). An object
         * store this store opened itself (from {@link #objectStore} or {@link #dataDir}) is closed
         * right after giving up, so requests still waiting for it (a metadata commit) fail at once.
         * The same bound also applies to a compaction cycle in progress (close goes on without it: a
         * task that has not committed leaves only orphans) and to the manifest's close (a metadata
         * change still waiting for the store is then interrupted and fails with
         * {@code StorageException}, as a write of unknown outcome; background snapshot writes are
         * given up). So {@code close()} during an outage takes at most about three times this
         * setting plus the 5 s and 10 s above, also with a storage given through
         * {@link #objectStorage}, which the store never closes.
         */
        public Builder closeUploadTimeout(Duration timeout) {
            require(timeout != null && !timeout.isNegative(), "closeUploadTimeout must be >= 0, got " + timeout);
            this.closeUploadTimeout = timeout;
            return this;
        }

        /**
         * How long {@link #build()} waits for any one object-store request while opening (loading the
         * manifest, registering this process, uploading what the WAL replayed; the storage retries
         * the request meanwhile) before it gives up on it (default 10 s). During an outage,
         * {@code build()} therefore fails after about this long (plus the local work of opening) with
         * a retriable {@link StorageException} naming this setting, instead of after the storage's own
         * retry budget (S3: up to 60 s), and can be retried by the caller. An upload of replayed data
         * that gives up does not fail the open: the data stays in the WAL and background uploads
         * retry. Late results of abandoned requests are released. A {@link #metadataStore} given by
         * the caller is not bounded by it. Once the store serves, requests are not bounded by it.
         */
        public Builder objectStoreOpenTimeout(Duration timeout) {
            require(timeout != null && !timeout.isNegative() && !timeout.isZero(),
                    "objectStoreOpenTimeout must be positive, got " + timeout);
            this.objectStoreOpenTimeout = timeout;
            return this;
        }

        /**
         * What {@link #build()} does when the WAL proves that acknowledged data was lost to damage
         * inside the log (a zeroed or corrupt block that later acknowledged records were written
         * after; {@code RecoveryReport#acknowledgedDataLost()}). Default {@code false}: build fails with
         * {@link dev.strata.api.CorruptDataException} naming the WAL regions and the streams' lost
         * offsets, and nothing is changed, so an operator can decide (restore the device, or accept
         * the loss). {@code true} opens anyway: each stream keeps its acknowledged records up to its
         * first lost offset; its later records in the WAL are dropped and <b>new appends reuse the
         * lost offsets</b> (consumers that read them before the loss may see other data at them).
         * The recovery report lists what was lost either way.
         */
        public Builder openDespiteLostWalData(boolean open) {
            this.openDespiteLostWalData = open;
            return this;
        }

        /**
         * Opens the store: the ownership locks of the data directory and the WAL, the WAL, the object
         * store, metadata (fencing earlier processes on the same bucket), recovery, uploads.
         *
         * <p>Every setting and combination is checked before anything is touched: a {@code build()}
         * that fails for its settings changes nothing on disk or in the bucket. So does one refused
         * because another store (in this process or another on this host) has the WAL or the data
         * directory open ({@link StorageInUseException}): the locks are taken before the metadata is.
         *
         * @throws IllegalArgumentException if the settings are incomplete or conflict (the message names
         *     the settings, and which to change)
         * @throws StorageInUseException if another store has the WAL or the data directory open
         * @throws StorageException if a storage cannot be opened or created (the message names the
         *     setting and the path: e.g. {@code dataDir} is a file, {@code walPath} is a directory, the
         *     bucket is missing or not writable, no space for the WAL)
         * @throws dev.strata.api.CorruptDataException if the WAL header or the manifest is damaged, or the
         *     WAL lost acknowledged data (see {@link #openDespiteLostWalData})
         */
        public DurableStreamStore build() {
            require(dataDir != null || walPath != null, "walPath (or dataDir) must be set");
            require(dataDir != null || objectStoreUri != null || objectStorage != null,
                    "objectStore (or objectStorage, or dataDir) must be set");
            require(objectStoreUri == null || objectStorage == null, "set objectStore or objectStorage, not both");
            Sizes sizes = resolveSizes();

            long startNanos = System.nanoTime();
            List<AutoCloseable> owned = new ArrayList<>();
            try {
                // Ownership first, before any other side effect: a refused open changes nothing.
                if (dataDir != null) {
                    createDirectories(dataDir, "dataDir");
                    owned.add(OwnershipLock.forDirectory(dataDir));
                }
                Path wal = walPath != null ? walPath : dataDir.resolve("wal").resolve("strata.wal");
                if (wal.toAbsolutePath().getParent() != null) {
                    createDirectories(wal.toAbsolutePath().getParent(), "walPath");
                }
                OwnershipLock walLock = OwnershipLock.forWal(wal); // also refuses a directory, naming walPath
                owned.add(walLock); // the WAL takes it over; closing it twice is harmless

                // The WAL next, still before the metadata: a WAL this store cannot use (smaller than
                // configured, a block size its batches do not fit) fails the open before the node
                // registration fences anyone. Its node epoch is assigned once registered, before it
                // writes anything.
                int maxRecord = StreamBatchCodec.headerSize() + sizes.maxBatchBytes();
                BlockDeviceWal blockWal = walOpener.apply(WalOptions.builder(wal)
                        .capacityBytes(sizes.walCapacityBytes())
                        .writeBufferBytes(sizes.walWriteBufferBytes())
                        .backend(walBackend)
                        .unsafeSkipSync(unsafeSkipWalSync)
                        .ownershipLock(walLock)
                        // the engine's WAL callback (onDurable) is short and never blocks; it hands
                        // user completions to the stream's lane: no WAL callback thread in between
                        .inlineCallbacks(true)
                        .build());
                owned.add(blockWal);
                if (!blockWal.isBlockDevice() && blockWal.capacity() < sizes.walCapacityBytes()) {
                    // An existing WAL file keeps the capacity it was made with; less than asked for is
                    // less room to ride out an object-store outage than the operator planned.
                    throw new StorageException("walCapacity: the WAL file " + wal + " has capacity " + blockWal.capacity()
                            + " bytes, less than walCapacity (" + sizes.walCapacityBytes() + "): set walCapacity("
                            + blockWal.capacity() + ") to use it as it is", false);
                }
                if (maxRecord > blockWal.maxRecordBytes()) { // only on a device with blocks over 64 KiB
                    throw new StorageException("maxBatchBytes (" + sizes.maxBatchBytes() + ") does not fit in one write of"
                            + " the WAL " + wal + " (block size " + blockWal.blockSize() + "): it allows batches up to "
                            + (blockWal.maxRecordBytes() - StreamBatchCodec.headerSize()) + " bytes", false);
                }

                ObjectStorage storage = objectStorage;
                if (storage == null) {
                    URI uri = objectStoreUri != null ? objectStoreUri : dataDir.resolve("objects").toUri();
                    if ("file".equals(uri.getScheme())) {
                        createDirectories(Path.of(uri), "objectStore");
                    }
                    storage = ObjectStorages.fromUri(uri);
                    owned.add(storage);
                }
                OpenDeadlineStorage openDeadline = new OpenDeadlineStorage(storage, objectStoreOpenTimeout);
                storage = openDeadline; // each request of build() ends within objectStoreOpenTimeout; disarmed before serving
                MetadataStore metadata = metadataStore;
                if (metadata == null) {
                    ManifestMetadataStore manifest = openManifest(storage);
                    manifest.closeTimeout(closeUploadTimeout); // close() stays bounded during an outage
                    metadata = manifest;
                    owned.add(metadata);
                }
                long nodeEpoch = registerNode(metadata);
                blockWal.assignNodeEpoch(nodeEpoch);

                // Blocks are the unit the uploader seals and the cache evicts: a few per upload.
                long cacheBlockBytes = Math.max(64L << 10, Math.min(LogCache.DEFAULT_BLOCK_SIZE_BYTES,
                        Math.min(sizes.uploadThresholdBytes() / 4, sizes.logCacheBytes() / 8)));
                LogCache logCache = LogCache.builder().capacityBytes(sizes.logCacheBytes()).blockSizeBytes(cacheBlockBytes)
                        .build();
                owned.add(logCache);
                // The WAL before the cache: the cache is closed after the WAL (reverse order), so WAL
                // completions at close still find it open.
                owned.remove(blockWal);
                owned.add(blockWal);
                java.util.concurrent.Executor callbacks = callbackExecutor;
                if (callbacks == null) {
                    ExecutorService pool = Executors.newFixedThreadPool(2, named("strata-callback"));
                    owned.add(0, () -> shutdown(pool)); // closed last: completions of appends in flight at close run on it
                    callbacks = pool;
                }
                java.util.concurrent.Executor reads = readExecutor;
                if (reads == null) {
                    ExecutorService pool = Executors.newFixedThreadPool(4, named("strata-read"));
                    owned.add(0, () -> shutdown(pool));
                    reads = pool;
                }

                EngineConfig config = new EngineConfig(sizes.maxBatchBytes(), sizes.uploadThresholdBytes(), uploadInterval,
                        uploadRetryBackoff, appendBackpressureWait, objectBlockBytes, streamObjectThresholdBytes);
                ByteBufAllocator allocator = PooledByteBufAllocator.DEFAULT;
                CompactionConfig compaction = new CompactionConfig(compactionInterval,
                        new CompactionPlanner.Settings(compactionTargetObjectBytes, streamObjectThresholdBytes,
                                streamSetSplitAge.toMillis(), 0.2, 4 * compactionTargetObjectBytes, 8),
                        garbageGracePeriod, orphanTtl, compactionBytesPerSecond,
                        CompactionConfig.readChunkBytes(maxInFlightReadBytes));
                int arenas = 0;
                long chunk = 0;
                if (allocator instanceof PooledByteBufAllocator pooled) {
                    arenas = pooled.metric().numDirectArenas();
                    chunk = pooled.metric().chunkSize();
                }
                long compactionChunk = Math.max(compaction.readChunkBytes(), (long) objectBlockBytes + maxRecord);
                MemoryLimits memoryLimits = MemoryLimits.of(sizes.logCacheBytes(), blockWal.directMemoryBytes(), blockCacheBytes,
                        maxInFlightReadBytes, 2 * compactionChunk, arenas, chunk);
                StoreEngine engine = new StoreEngine(config, blockWal, metadata, storage, logCache, blockCacheBytes,
                        maxInFlightReadBytes, allocator, callbacks, reads, owned, compaction, clock, closeUploadTimeout,
                        meterRegistry, memoryLimits);
                try {
                    StoreRecoveryReport report = WalReplay.replay(engine.replayTarget(), blockWal, metadata,
                            sizes.uploadThresholdBytes(), logCache::unuploadedBytes, startNanos, openDespiteLostWalData);
                    if (report.wal().acknowledgedDataLost()) {
                        LOG.error("opened despite lost WAL data (openDespiteLostWalData): {}", report.summary());
                    }
                    try {
                        engine.uploader.flush().join();
                    } catch (RuntimeException e) {
                        // Serving is still safe: the replayed data is in the WAL and the cache, and
                        // background uploads retry. Recovery never crash-loops on object-store errors.
                        LOG.warn("uploading replayed data failed; background uploads will retry: {}", e.toString());
                    }
                    report = report.withDuration(System.nanoTime() - startNanos);
                    LOG.info("{} (nodeEpoch={}, walBackend={})", report.summary(), nodeEpoch, blockWal.backend());
                    openDeadline.disarm();
                    engine.start();
                    return new DefaultStreamStore(engine, report, memoryLimits);
                } catch (RuntimeException | Error e) {
                    engine.close(false); // never served: no final upload
                    throw e;
                }
            } catch (RuntimeException | Error e) {
                for (int i = owned.size() - 1; i >= 0; i--) {
                    try {
                        owned.get(i).close();
                    } catch (Exception suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw e;
            }
        }

        /**
         * The sizes the store runs with: what the user set, and for what they did not set, defaults
         * scaled to what they did set (DESIGN: only a conflict between two chosen settings is an error).
         * Pure: touches nothing.
         */
        Sizes resolveSizes() {
            int header = StreamBatchCodec.headerSize();
            long logCache = logCacheBytes != null ? logCacheBytes : Math.max(DEFAULT_LOG_CACHE_BYTES,
                    Math.max(uploadThresholdBytes != null ? 2 * uploadThresholdBytes : 0,
                            maxBatchBytes != null ? 2 * ((long) header + maxBatchBytes) : 0));
            long walCapacity = walCapacityBytes != null ? walCapacityBytes : Math.max(DEFAULT_WAL_CAPACITY_BYTES,
                    Math.max(uploadThresholdBytes != null ? roundUp4096(2 * uploadThresholdBytes) : 0,
                            maxBatchBytes != null ? 4L * walWriteBufferFor(maxBatchBytes) : 0));
            int largestWriteBuffer = (int) Math.min(MAX_WAL_WRITE_BUFFER_BYTES, Long.highestOneBit(walCapacity / 4));
            int maxBatch = maxBatchBytes != null ? maxBatchBytes : (int) Math.max(1, Math.min(DEFAULT_MAX_BATCH_BYTES,
                    Math.min(logCache / 2 - header, largestWriteBuffer - WAL_WRITE_OVERHEAD_BYTES - header)));
            long threshold = uploadThresholdBytes != null ? uploadThresholdBytes
                    : Math.max(1, Math.min(DEFAULT_UPLOAD_THRESHOLD_BYTES, Math.min(logCache / 4, walCapacity / 4)));

            require(threshold <= logCache / 2, "uploadThresholdBytes (" + threshold + ") must be at most half of"
                    + " logCacheBytes (" + logCache + ") so uploads start before the cache is full: raise logCacheBytes"
                    + " or lower uploadThresholdBytes");
            require(threshold <= walCapacity / 2, "uploadThresholdBytes (" + threshold + ") must be at most half of"
                    + " walCapacity (" + walCapacity + "): raise walCapacity or lower uploadThresholdBytes");
            require((long) header + maxBatch <= logCache / 2, "maxBatchBytes (" + maxBatch + ") must be at most half of"
                    + " logCacheBytes (" + logCache + ") minus " + header + " bytes of batch header: an append waits for"
                    + " room in the cache, and a larger batch would never find it; raise logCacheBytes or lower"
                    + " maxBatchBytes");
            int writeBuffer = Math.max(walWriteBufferFor(maxBatch), Math.min(WalOptions.DEFAULT_WRITE_BUFFER_BYTES,
                    largestWriteBuffer));
            require(writeBuffer <= walCapacity / 4, "maxBatchBytes (" + maxBatch + ") needs WAL write buffers of "
                    + writeBuffer + " bytes, and the WAL must hold four of them: walCapacity (" + walCapacity + ") must be"
                    + " at least " + 4L * writeBuffer + "; raise walCapacity or lower maxBatchBytes");
            return new Sizes(walCapacity, logCache, threshold, maxBatch, writeBuffer);
        }

        /** What one WAL write needs beyond its record: padding of up to two blocks of up to 64 KiB, and record headers. */
        private static final int WAL_WRITE_OVERHEAD_BYTES = 132 << 10;
        /** The largest WAL write buffer (the WAL's limit). */
        private static final int MAX_WAL_WRITE_BUFFER_BYTES = 64 << 20;
        /** The smallest WAL write buffer: one group commit (the WAL's default group commit size). */
        private static final int MIN_WAL_WRITE_BUFFER_BYTES = WalOptions.DEFAULT_GROUP_COMMIT_BYTES;

        /** The WAL write buffer (a power of two) that holds one batch of {@code maxBatch} payload bytes. */
        private static int walWriteBufferFor(int maxBatch) {
            long need = (long) StreamBatchCodec.headerSize() + maxBatch + WAL_WRITE_OVERHEAD_BYTES;
            long pow2 = Long.highestOneBit(need - 1) << 1;
            return (int) Math.max(MIN_WAL_WRITE_BUFFER_BYTES, pow2);
        }

        private static long roundUp4096(long bytes) {
            return (bytes + 4095) / 4096 * 4096;
        }

        /** The sizes a store runs with, after defaults were scaled to the user's settings. */
        record Sizes(long walCapacityBytes, long logCacheBytes, long uploadThresholdBytes, int maxBatchBytes,
                int walWriteBufferBytes) {
        }

        private static long registerNode(MetadataStore metadata) {
            try {
                return metadata.registerNode().join();
            } catch (java.util.concurrent.CompletionException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                if (cause instanceof dev.strata.api.CorruptDataException corrupt) {
                    throw corrupt;
                }
                if (cause instanceof StrataException se) {
                    throw new StorageException("objectStore: cannot register this process in the metadata (is the bucket"
                            + " writable?): " + se.getMessage(), se.isRetriable(), se);
                }
                throw new StorageException("objectStore: cannot register this process in the metadata: " + cause,
                        false, cause);
            }
        }

        private static ManifestMetadataStore openManifest(ObjectStorage storage) {
            try {
                return ManifestMetadataStore.open(storage, "");
            } catch (dev.strata.api.CorruptDataException e) {
                throw e; // a damaged manifest is reported as such (build() documents it), never as "bucket missing"
            } catch (StrataException e) {
                throw new StorageException("objectStore: cannot open the manifest (is the bucket there and readable?): "
                        + e.getMessage(), e.isRetriable(), e);
            }
        }

        private static void createDirectories(Path dir, String setting) {
            try {
                Files.createDirectories(dir);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                throw new StorageException(setting + ": " + dir + " is not a directory (" + e.getFile() + " is a file)",
                        false, e);
            } catch (IOException | SecurityException e) {
                throw new StorageException(setting + ": cannot create directory " + dir + ": " + e, false, e);
            }
        }
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        };
    }

    private static void shutdown(ExecutorService executor) throws InterruptedException {
        executor.shutdown();
        if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
            executor.shutdownNow();
        }
    }
}
