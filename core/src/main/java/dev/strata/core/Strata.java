package dev.strata.core;

import dev.strata.core.crypto.KeyProvider;
import java.util.function.Predicate;

import dev.strata.api.StorageException;
import dev.strata.api.StorageInUseException;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metrics.MicrometerStoreMetrics;
import dev.strata.core.settings.AppendSettings;
import dev.strata.core.settings.CacheSettings;
import dev.strata.core.settings.CompactionSettings;
import dev.strata.core.settings.InvalidSettingException;
import dev.strata.core.settings.LocationSettings;
import dev.strata.core.settings.SettingChecks;
import dev.strata.core.settings.StoreSettings;
import dev.strata.core.settings.StoreSizes;
import dev.strata.core.settings.StoreSizing;
import dev.strata.core.settings.UploadSettings;
import dev.strata.core.settings.WalSettings;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.WalFactory;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

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
 *
 * <p>The WAL is the block-device WAL ({@code dev.strata.wal.BlockDeviceWal}) at {@link Builder#walPath}
 * or below {@link Builder#dataDir} unless {@link Builder#wal(WalFactory)} gives another implementation
 * of {@link dev.strata.wal.api.WriteAheadLog}; a store with such a WAL and an {@link Builder#objectStore}
 * needs no local directory:
 *
 * <pre>{@code
 * Strata.builder().objectStore(URI.create("s3://bucket/prefix")).wal(myWalFactory).build();
 * }</pre>
 */
public final class Strata {
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
        public static final long DEFAULT_WAL_CAPACITY_BYTES = WalSettings.DEFAULT_CAPACITY_BYTES;
        /** Default LogCache size: recent data for tailing readers plus what awaits upload. */
        public static final long DEFAULT_LOG_CACHE_BYTES = CacheSettings.DEFAULT_LOG_CACHE_BYTES;
        /** Default BlockCache size for catch-up readers. */
        public static final long DEFAULT_BLOCK_CACHE_BYTES = CacheSettings.DEFAULT_BLOCK_CACHE_BYTES;
        /** Default bound on bytes being read from objects at once (catch-up reads). */
        public static final long DEFAULT_MAX_IN_FLIGHT_READ_BYTES = CacheSettings.DEFAULT_MAX_IN_FLIGHT_READ_BYTES;
        /** Default upload trigger by size: large objects keep request costs low. */
        public static final long DEFAULT_UPLOAD_THRESHOLD_BYTES = UploadSettings.DEFAULT_THRESHOLD_BYTES;
        /** Default upload trigger by age: bounds how much the WAL holds and how stale objects are. */
        public static final Duration DEFAULT_UPLOAD_INTERVAL = UploadSettings.DEFAULT_INTERVAL;
        /** Default largest batch payload (smaller where a small walCapacity or logCacheBytes set by the user needs it). */
        public static final int DEFAULT_MAX_BATCH_BYTES = AppendSettings.DEFAULT_MAX_BATCH_BYTES;
        /**
         * Largest {@link #maxBatchBytes} accepted: 32 MiB. A batch goes to the WAL in one write, so the WAL's
         * write buffers are the next power of two above it (64 MiB each, six of them, at this maximum).
         */
        public static final int MAX_BATCH_BYTES = AppendSettings.MAX_BATCH_BYTES;
        /** Smallest {@link #walCapacity}: room for four of the smallest WAL writes (256 KiB). */
        public static final long MIN_WAL_CAPACITY_BYTES = WalSettings.MIN_CAPACITY_BYTES;
        /** Default bound on how long an append waits for WAL or cache room before BackpressureException. */
        public static final Duration DEFAULT_APPEND_BACKPRESSURE_WAIT = AppendSettings.DEFAULT_BACKPRESSURE_WAIT;
        /** Default share of one upload above which a stream gets its own stream object (DESIGN: large streams). */
        public static final long DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES = UploadSettings.DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES;
        /** Default data block size in objects: the unit of catch-up reads and caching. */
        public static final int DEFAULT_OBJECT_BLOCK_BYTES = UploadSettings.DEFAULT_OBJECT_BLOCK_BYTES;

        /** Default time between compaction cycles. */
        public static final Duration DEFAULT_COMPACTION_INTERVAL = CompactionSettings.DEFAULT_INTERVAL;
        /** Default size compaction aims at for the objects it writes. */
        public static final long DEFAULT_COMPACTION_TARGET_OBJECT_BYTES = CompactionSettings.DEFAULT_TARGET_OBJECT_BYTES;
        /** Default age after which a stream's data leaves stream-set objects whatever its size. */
        public static final Duration DEFAULT_STREAM_SET_SPLIT_AGE = CompactionSettings.DEFAULT_STREAM_SET_SPLIT_AGE;
        /** Default time a replaced object stays readable before it is deleted. */
        public static final Duration DEFAULT_GARBAGE_GRACE_PERIOD = CompactionSettings.DEFAULT_GARBAGE_GRACE_PERIOD;
        /** Default time an unreferenced object found by listing waits before it is deleted. */
        public static final Duration DEFAULT_ORPHAN_TTL = CompactionSettings.DEFAULT_ORPHAN_TTL;
        /** Default limit on compaction reads. */
        public static final long DEFAULT_COMPACTION_BYTES_PER_SECOND = CompactionSettings.DEFAULT_BYTES_PER_SECOND;
        /** Default of {@link #closeUploadTimeout}. */
        public static final Duration DEFAULT_CLOSE_UPLOAD_TIMEOUT = UploadSettings.DEFAULT_CLOSE_TIMEOUT;
        /** Default of {@link #objectStoreOpenTimeout}. */
        public static final Duration DEFAULT_OBJECT_STORE_OPEN_TIMEOUT = StoreSettings.DEFAULT_OBJECT_STORE_OPEN_TIMEOUT;

        private Path dataDir;
        private Path walPath;
        private Long walCapacityBytes; // null: not set, derived at build (see resolve)
        private WalOptions.Backend walBackend = WalOptions.Backend.AUTO;
        private boolean unsafeSkipWalSync;
        private boolean walCallerWritesWhenIdle;
        private URI objectStoreUri;
        private ObjectStorage objectStorage;
        private MetadataStore metadataStore;
        private Long logCacheBytes; // null: not set
        private long blockCacheBytes = DEFAULT_BLOCK_CACHE_BYTES;
        private long maxInFlightReadBytes = DEFAULT_MAX_IN_FLIGHT_READ_BYTES;
        private Long uploadThresholdBytes; // null: not set
        private Duration uploadInterval = DEFAULT_UPLOAD_INTERVAL;
        private Duration uploadRetryBackoff = UploadSettings.DEFAULT_RETRY_BACKOFF;
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
        private AuditListener auditListener = new Slf4jAuditListener();
        private EncryptionConfig encryption;
        private boolean openDespiteLostWalData;
        private java.util.function.Function<WalOptions, BlockDeviceWal> walOpener; // null: BlockDeviceWal::open
        private WalFactory walFactory; // null: the block-device WAL
        private dev.strata.wal.objectstore.ObjectWalOptions objectWal; // non-null: the WAL in the object store
        private java.util.concurrent.Executor callbackExecutor;
        private io.micrometer.core.instrument.MeterRegistry meterRegistry;
        private java.util.concurrent.Executor readExecutor;
        private CpuPriority backgroundCpuPriority = CpuPriority.NORMAL;
        private AppendStageListener appendStageListener; // null: no per-stage timestamps

        private Builder() {
        }

        /**
         * The embedded default: the WAL as a preallocated file {@code dataDir/wal/strata.wal} and objects
         * in {@code dataDir/objects}, unless {@link #walPath}, {@link #wal(WalFactory)} or an object store
         * is set. The store locks it (one store per directory) whenever it is set.
         */
        public Builder dataDir(Path dir) {
            SettingChecks.notNull("dataDir", dir);
            this.dataDir = dir;
            return this;
        }

        /** A block device or file for the block-device WAL (a file is created and preallocated if absent). */
        public Builder walPath(Path path) {
            SettingChecks.notNull("walPath", path);
            this.walPath = path;
            return this;
        }

        /**
         * WAL size in bytes for a file WAL (a block device's size is its own): a multiple of 4096, at
         * least {@link #MIN_WAL_CAPACITY_BYTES}. Default {@link #DEFAULT_WAL_CAPACITY_BYTES}, or twice
         * {@link #uploadThresholdBytes} if that is set larger. An existing WAL file keeps the capacity it
         * was created with; one smaller than this setting fails {@link #build()}. A WAL given by
         * {@link #wal(WalFactory)} gets it as {@code WalSizes.capacityBytes()}.
         */
        public Builder walCapacity(long bytes) {
            this.walCapacityBytes = WalSettings.checkCapacity(bytes);
            return this;
        }

        /** The WAL's I/O backend; default AUTO (io_uring where possible, else O_DIRECT, else buffered); PWRITE: synchronous pwritev2 on writer threads. */
        public Builder walBackend(WalOptions.Backend backend) {
            SettingChecks.notNull("walBackend", backend);
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

        /**
         * Whether an append that finds the block-device WAL idle (no write in flight) writes its group
         * itself, synchronously on the appending thread, instead of handing it to the WAL's I/O
         * completion thread: a lone appender that waits for each append anyway then pays no thread
         * wake-up between its append and the acknowledgement: when the stream has no earlier
         * completion pending, the user's future completes on the appending thread before
         * {@code append} returns (its dependent stages run there), otherwise on the callback
         * executor as usual. The price: {@code append} then blocks for the write (a durable
         * write, 0.1-2 ms here), so a thread that appends to many streams without waiting (a
         * broker's request thread, the workload runner's drivers) keeps fewer appends in flight
         * (measured: 4 KiB appends from two threads over 16 streams at 34,597 appends/s with it,
         * against 62,270 without). Takes effect with the pwritev2 and io_uring backends and no WAL rate limit;
         * default false.
         */
        public Builder walCallerWritesWhenIdle(boolean callerWrites) {
            this.walCallerWritesWhenIdle = callerWrites;
            return this;
        }

        /** {@code file:///dir} or {@code s3://bucket/prefix?region=..&endpoint=..&pathStyle=..}. */
        public Builder objectStore(URI uri) {
            SettingChecks.notNull("objectStore", uri);
            this.objectStoreUri = uri;
            return this;
        }

        /** An object storage the caller owns (not closed with the store). */
        public Builder objectStorage(ObjectStorage storage) {
            SettingChecks.notNull("objectStorage", storage);
            this.objectStorage = storage;
            return this;
        }

        /** A metadata store the caller owns (not closed with the store); default: the manifest in the object store. */
        public Builder metadataStore(MetadataStore store) {
            SettingChecks.notNull("metadataStore", store);
            this.metadataStore = store;
            return this;
        }

        /**
         * Memory for recent appends (tail reads) and what awaits upload, appends in flight included.
         * Default {@link #DEFAULT_LOG_CACHE_BYTES}, or more where {@link #uploadThresholdBytes} or
         * {@link #maxBatchBytes} set by the user needs it (twice either).
         */
        public Builder logCacheBytes(long bytes) {
            this.logCacheBytes = CacheSettings.check("logCacheBytes", bytes);
            return this;
        }

        public Builder blockCacheBytes(long bytes) {
            this.blockCacheBytes = CacheSettings.check("blockCacheBytes", bytes);
            return this;
        }

        public Builder maxInFlightReadBytes(long bytes) {
            this.maxInFlightReadBytes = CacheSettings.check("maxInFlightReadBytes", bytes);
            return this;
        }

        /**
         * Unuploaded bytes that trigger an upload: at most half of {@link #logCacheBytes} and of
         * {@link #walCapacity}. Default {@link #DEFAULT_UPLOAD_THRESHOLD_BYTES}, or a quarter of the
         * smaller of those two where that is less.
         */
        public Builder uploadThresholdBytes(long bytes) {
            this.uploadThresholdBytes = UploadSettings.checkThresholdBytes(bytes);
            return this;
        }

        /** Longest time acknowledged data waits before an upload starts. */
        public Builder uploadInterval(Duration interval) {
            this.uploadInterval = SettingChecks.positive("uploadInterval", interval);
            return this;
        }

        /** First wait after a failed upload; doubles on each failure up to 30 s. */
        public Builder uploadRetryBackoff(Duration backoff) {
            this.uploadRetryBackoff = SettingChecks.positive("uploadRetryBackoff", backoff);
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
            this.appendBackpressureWait = SettingChecks.nonNegative("appendBackpressureWait", wait);
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
            this.maxBatchBytes = AppendSettings.checkMaxBatchBytes(bytes);
            return this;
        }

        /** Target size of a data block in objects. */
        public Builder objectBlockBytes(int bytes) {
            this.objectBlockBytes = UploadSettings.checkObjectBlockBytes(bytes);
            return this;
        }

        /**
         * How the block-device WAL is opened from the options the builder computed; default
         * {@code BlockDeviceWal::open}. For tests that inject device faults (e.g. the wal-blockdevice
         * test-jar's {@code FaultInjectingWal.open(options, plan)}); not needed in production. Not
         * with {@link #wal(WalFactory)}.
         */
        public Builder walOpener(java.util.function.Function<WalOptions, BlockDeviceWal> opener) {
            SettingChecks.notNull("walOpener", opener);
            this.walOpener = opener;
            return this;
        }

        /**
         * Another WAL implementation instead of the block-device WAL: {@link #build()} opens the store's
         * WAL with {@code factory.open(sizes)}, where the sizes are those the builder computed
         * ({@link #walCapacity} or its default, the largest record, the write buffer), after locking the
         * data directory (if any) and before touching the metadata; then it assigns the node epoch it
         * registered with, replays the WAL, and owns it (closes it with the store, also when a later step
         * of the open fails). The store refuses a WAL whose {@code maxRecordBytes()} is below the largest
         * batch. Such a WAL needs no {@link #dataDir} when {@link #objectStore} or {@link #objectStorage}
         * is set. Not with the block-device WAL's settings: {@link #walPath}, {@link #walBackend},
         * {@link #unsafeSkipWalSync}, {@link #walOpener} ({@link #build()} names the conflict).
         */
        public Builder wal(WalFactory factory) {
            SettingChecks.notNull("wal", factory);
            this.walFactory = factory;
            return this;
        }

        /**
         * The WAL in the store's own object store ({@link #objectStore} or {@link #objectStorage})
         * instead of on a local disk: {@link dev.strata.wal.objectstore.ObjectStoreWal}, one object per
         * flush at {@code <options.prefix()>/wal/<sequence>} (an empty prefix: {@code wal/} under the
         * store's root), acknowledged once the object is stored. No local directory is needed at all, and
         * another process can take the store over from the bucket alone: opening it fences the previous
         * writer (its next PUT collides), replays its WAL objects and serves every stream
         * (docs/operations.md, "Taking over without the machine"). Not with {@link #wal} or the
         * block-device WAL's settings.
         */
        public Builder walOnObjectStore(dev.strata.wal.objectstore.ObjectWalOptions options) {
            SettingChecks.notNull("walOnObjectStore", options);
            this.objectWal = options;
            return this;
        }

        /**
         * A stream with at least this many bytes in one upload is written to its own stream object
         * (read without touching other streams' data); smaller shares go into the stream-set object.
         */
        public Builder streamObjectThresholdBytes(long bytes) {
            this.streamObjectThresholdBytes = SettingChecks.atLeast("streamObjectThresholdBytes", bytes, 1, "1");
            return this;
        }

        /**
         * Where append and fetch futures complete (and so where the caller's dependent stages run);
         * default: two "strata-callback" threads owned by the store. A stream's completions stay in
         * offset order on any executor (with {@link #walCallerWritesWhenIdle} an append may instead
         * complete on its own appending thread, see there). The store does not shut a given executor
         * down. Never runs on WAL or I/O threads.
         */
        public Builder callbackExecutor(java.util.concurrent.Executor executor) {
            SettingChecks.notNull("callbackExecutor", executor);
            this.callbackExecutor = executor;
            return this;
        }

        /**
         * Where catch-up reads from object storage run (they may block on I/O); default: four
         * "strata-read" threads owned by the store. Separate from the append path so catch-up reads
         * never delay appends or tail reads. The store does not shut a given executor down.
         */
        public Builder readExecutor(java.util.concurrent.Executor executor) {
            SettingChecks.notNull("readExecutor", executor);
            this.readExecutor = executor;
            return this;
        }

        /**
         * The CPU priority of the store's threads whose work no append waits for: catch-up reads
         * (the "strata-read" threads, unless {@link #readExecutor} is given, and the block cache's
         * loads and read-ahead on "strata-blockcache"), compaction and garbage collection
         * ("strata-compaction"). Default {@link CpuPriority#NORMAL}. With {@link CpuPriority#LOW} or
         * {@link CpuPriority#IDLE} a replay cannot take the cores from the threads that acknowledge
         * appends, at the cost of going slower while they are busy (with {@code IDLE}, not at all
         * while normal threads keep every core busy). Uploads, whose progress frees WAL space, the
         * WAL's and the object store's threads and the callback threads keep their priority. Each
         * thread applies it once, when it starts; where it cannot ({@link CpuPriority}: JDK 22+,
         * native access, Linux) the threads keep their priority and the store logs why, once.
         */
        public Builder backgroundCpuPriority(CpuPriority priority) {
            SettingChecks.notNull("backgroundCpuPriority", priority);
            this.backgroundCpuPriority = priority;
            return this;
        }

        /**
         * Publishes the store's metrics ({@code strata.*}: append latency and bytes, failures by type,
         * fetches by source, uploads, WAL and LogCache usage) to {@code registry}. Optional: without
         * it the store records nothing and Micrometer need not be on the class path.
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            SettingChecks.notNull("meterRegistry", registry);
            this.meterRegistry = registry;
            return this;
        }

        /**
         * Reports where each acknowledged append's time went: the {@code System.nanoTime()} at which it
         * was called, handed to the WAL, durable, visible to tail readers, and completed (see
         * {@link AppendStageListener}). Optional, for benchmarks and diagnosis: without it (the
         * default) the append path takes no timestamps for it; with it, four more
         * {@code System.nanoTime()} calls and one listener call per append.
         */
        public Builder appendStageListener(AppendStageListener listener) {
            SettingChecks.notNull("appendStageListener", listener);
            this.appendStageListener = listener;
            return this;
        }

        /**
         * Time between compaction and garbage-collection cycles (default 5 minutes);
         * {@link Duration#ZERO} schedules none ({@link DurableStreamStore#compact()} still runs one).
         */
        public Builder compactionInterval(Duration interval) {
            this.compactionInterval = SettingChecks.nonNegative("compactionInterval", interval);
            return this;
        }

        /**
         * Size compaction aims at for the objects it writes (default 256 MiB): small stream objects are
         * merged up to it, stream-set remainders packed up to it.
         */
        public Builder compactionTargetObjectBytes(long bytes) {
            this.compactionTargetObjectBytes = SettingChecks.atLeast("compactionTargetObjectBytes", bytes, 1, "1");
            return this;
        }

        /**
         * Age after which a stream's data is split out of stream-set objects into a stream object
         * whatever its size (default 1 hour); data reaching {@link #streamObjectThresholdBytes} is
         * split at the next cycle.
         */
        public Builder streamSetSplitAge(Duration age) {
            this.streamSetSplitAge = SettingChecks.nonNegative("streamSetSplitAge", age);
            return this;
        }

        /**
         * How long an object replaced by compaction (or dropped after a trim or delete) stays in the
         * object store before it is deleted, so that reads that found it just before can finish
         * (default 2 minutes).
         */
        public Builder garbageGracePeriod(Duration grace) {
            this.garbageGracePeriod = SettingChecks.nonNegative("garbageGracePeriod", grace);
            return this;
        }

        /**
         * How long an object found by listing, neither committed nor being written by this process
         * (an upload that crashed before its commit, an object replaced just before a crash), stays
         * before it is deleted (default 30 minutes, counted from when this process first saw it).
         */
        public Builder orphanTtl(Duration ttl) {
            this.orphanTtl = SettingChecks.nonNegative("orphanTtl", ttl);
            return this;
        }

        /** Limit on the bytes compaction reads per second (default 64 MiB/s); 0 means no limit. */
        public Builder compactionBytesPerSecond(long bytesPerSecond) {
            this.compactionBytesPerSecond = SettingChecks.atLeast("compactionBytesPerSecond", bytesPerSecond, 0, "0");
            return this;
        }

        /**
         * Who receives the store's {@link AuditEvent}s: stream creations, epoch changes and fencing,
         * trims, deletions, node registration, compaction's replacements, garbage deletions, quota
         * changes, destroyed tenant keys, each once durable (default {@link Slf4jAuditListener}: JSON lines at INFO on the
         * logger {@code dev.strata.audit}).
         */
        public Builder auditListener(AuditListener listener) {
            SettingChecks.notNull("auditListener", listener);
            this.auditListener = listener;
            return this;
        }

        /**
         * Encrypts the data of every stream that has a tenant, client side, under per-tenant data
         * keys wrapped by {@code provider}: {@link #encryption(KeyProvider, Predicate)} for all
         * tenants. Streams without a tenant stay in plain.
         *
         * @throws IllegalArgumentException if {@code provider} is null
         * @throws IllegalStateException if encryption was already set
         */
        public Builder encryption(KeyProvider provider) {
            return encryption(provider, tenant -> true);
        }

        /**
         * Encrypts the data of the streams whose tenant {@code tenants} accepts, client side (see
         * README, "Encryption at rest"): each batch is encrypted with AES-256-GCM at append, before
         * the WAL, under a data key of its tenant, so the WAL, the LogCache, every object and the
         * block cache hold only ciphertext for it; fetches decrypt. Data keys are made by the store,
         * wrapped by {@code provider} under the tenant's master key and kept as key records in the
         * object store ({@code keys/}). Streams without a tenant, or whose tenant {@code tenants}
         * refuses, stay in plain at no cost. {@code tenants} is asked at every append (it must be
         * fast and thread-safe); what is stored says for itself whether it is encrypted, so changing
         * the predicate never makes stored data unreadable. {@link DurableStreamStore#destroyTenantKey}
         * crypto-shreds a tenant.
         *
         * <p>An encrypted stream's largest payload is {@code maxBatchBytes} less 40 bytes (the
         * envelope). A store with encrypted data needs a provider to read it: opened without one, its
         * encrypted data fails to fetch with {@link dev.strata.api.KeyUnavailableException}.
         *
         * @throws IllegalArgumentException if an argument is null
         * @throws IllegalStateException if encryption was already set (the message names the earlier provider)
         */
        public Builder encryption(KeyProvider provider, Predicate<String> tenants) {
            SettingChecks.notNull("encryption provider", provider);
            SettingChecks.notNull("encryption tenants", tenants);
            if (encryption != null) {
                throw new IllegalStateException("encryption was already set to " + encryption.provider());
            }
            this.encryption = new EncryptionConfig(provider, tenants);
            return this;
        }

        /**
         * The wall clock behind data ages, the garbage grace period and the orphan TTL (default the
         * system UTC clock); tests pass a controllable one.
         */
        public Builder clock(java.time.Clock clock) {
            SettingChecks.notNull("clock", clock);
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
            this.closeUploadTimeout = SettingChecks.nonNegative("closeUploadTimeout", timeout);
            return this;
        }

        /**
         * How long {@link #build()} waits for any one object-store request while opening (loading the
         * manifest, registering this process, uploading at each upload threshold of a WAL replay
         * longer than that; the storage retries the request meanwhile) before it gives up on it
         * (default 10 s). What the replay holds below the threshold is uploaded in the background
         * once the store serves: {@code build()} does not wait for it. During an outage,
         * {@code build()} therefore fails after about this long (plus the local work of opening) with
         * a retriable {@link StorageException} naming this setting, instead of after the storage's own
         * retry budget (S3: up to 60 s), and can be retried by the caller. An upload of replayed data
         * that gives up does not fail the open: the data stays in the WAL and background uploads
         * retry. Late results of abandoned requests are released. A {@link #metadataStore} given by
         * the caller is not bounded by it. Once the store serves, requests are not bounded by it.
         */
        public Builder objectStoreOpenTimeout(Duration timeout) {
            this.objectStoreOpenTimeout = SettingChecks.positive("objectStoreOpenTimeout", timeout);
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
         * store, metadata (fencing earlier processes on the same bucket), recovery, uploads. Three steps:
         * the settings as validated groups ({@code dev.strata.core.settings}), the sizes they give
         * ({@link StoreSizing}, pure), and the open sequence ({@code StoreOpener}), which closes what it
         * opened if a later step fails.
         *
         * <p>Every setting and combination is checked before anything is touched: a {@code build()}
         * that fails for its settings changes nothing on disk or in the bucket. So does one refused
         * because another store (in this process or another on this host) has the WAL or the data
         * directory open ({@link StorageInUseException}): the locks are taken before the metadata is.
         *
         * @throws IllegalArgumentException ({@link InvalidSettingException}) if the settings are incomplete
         *     or conflict (the message names the settings, and which to change)
         * @throws StorageInUseException if another store has the WAL or the data directory open
         * @throws StorageException if a storage cannot be opened or created (the message names the
         *     setting and the path: e.g. {@code dataDir} is a file, {@code walPath} is a directory, the
         *     bucket is missing or not writable, no space for the WAL)
         * @throws dev.strata.api.CorruptDataException if the WAL header or the manifest is damaged, or the
         *     WAL lost acknowledged data (see {@link #openDespiteLostWalData})
         */
        public DurableStreamStore build() {
            StoreSettings settings = settings();
            StoreSizes sizes = StoreSizing.resolve(settings);
            return new StoreOpener(settings, sizes, given(settings)).open();
        }

        /**
         * The settings as validated groups. Pure: touches nothing.
         *
         * @throws InvalidSettingException if the WAL or the object store is neither set nor given by
         *     {@link #dataDir}, both an object store URI and an {@link ObjectStorage} are set, or a WAL
         *     factory ({@link #wal}) is set with a block-device WAL setting
         */
        StoreSettings settings() {
            if (walFactory != null && objectWal != null) {
                throw InvalidSettingException.conflict("walOnObjectStore", "wal", "both choose the WAL: set one of them");
            }
            if (objectWal != null && walOpener != null) {
                throw InvalidSettingException.conflict("walOpener", "walOnObjectStore", "walOpener opens the block-device"
                        + " WAL; walOnObjectStore puts the WAL in the object store: set one of them");
            }
            if (walFactory != null && walOpener != null) {
                throw InvalidSettingException.conflict("walOpener", "wal", "walOpener opens the block-device WAL;"
                        + " a WAL given by wal(factory) is opened by its factory: set one of them");
            }
            LocationSettings location = new LocationSettings(Optional.ofNullable(dataDir), Optional.ofNullable(walPath),
                    Optional.ofNullable(objectStoreUri), objectStorage != null, walFactory != null || objectWal != null);
            return new StoreSettings(location, walSettings(), cacheSettings(), appendSettings(), uploadSettings(),
                    compactionSettings(), objectStoreOpenTimeout, openDespiteLostWalData);
        }

        private WalSettings walSettings() {
            return new WalSettings(walCapacityBytes != null ? OptionalLong.of(walCapacityBytes) : OptionalLong.empty(),
                    walBackend, unsafeSkipWalSync, walCallerWritesWhenIdle);
        }

        private CacheSettings cacheSettings() {
            return new CacheSettings(logCacheBytes != null ? OptionalLong.of(logCacheBytes) : OptionalLong.empty(),
                    blockCacheBytes, maxInFlightReadBytes);
        }

        private AppendSettings appendSettings() {
            return new AppendSettings(maxBatchBytes != null ? OptionalInt.of(maxBatchBytes) : OptionalInt.empty(),
                    appendBackpressureWait);
        }

        private UploadSettings uploadSettings() {
            return new UploadSettings(uploadThresholdBytes != null ? OptionalLong.of(uploadThresholdBytes)
                    : OptionalLong.empty(), uploadInterval, uploadRetryBackoff, objectBlockBytes, streamObjectThresholdBytes,
                    closeUploadTimeout);
        }

        private CompactionSettings compactionSettings() {
            return new CompactionSettings(compactionInterval, compactionTargetObjectBytes, streamSetSplitAge,
                    garbageGracePeriod, orphanTtl, compactionBytesPerSecond);
        }

        /** The components the caller gave (null where the store makes its own), and the WAL's factory. */
        private StoreOpener.Given given(StoreSettings settings) {
            dev.strata.wal.objectstore.ObjectWalOptions walInStore = objectWal;
            java.util.function.Function<ObjectStorage, WalFactory> walOnStorage = walInStore == null ? null
                    : storage -> sizes -> dev.strata.wal.objectstore.ObjectStoreWal.open(storage, walInStore);
            WalFactory walOpening = walFactory != null ? walFactory : walInStore != null ? null
                    : new BlockDeviceWalFactory(settings.location().walFile().orElseThrow(), settings.wal(),
                            walOpener != null ? walOpener : BlockDeviceWal::open);
            io.micrometer.core.instrument.MeterRegistry registry = meterRegistry;
            StoreOpener.MetricsFactory metrics = registry == null ? null
                    : (wal, logCache, summary, limits) -> {
                        MicrometerStoreMetrics micrometer = new MicrometerStoreMetrics(registry, wal, logCache, limits);
                        MicrometerStoreMetrics.registerStorageGauges(registry, summary);
                        return micrometer;
                    };
            return new StoreOpener.Given(objectStorage, metadataStore, walOpening, walOnStorage, callbackExecutor,
                    readExecutor, metrics, clock, auditListener, encryption, appendStageListener, backgroundCpuPriority);
        }

        /**
         * The main sizes the store runs with ({@link StoreSizing}, which also derives the cache block,
         * compaction and memory sizes): what the user set, and for what they did not set, defaults
         * scaled to what they did set (DESIGN: only a conflict between two chosen settings is an error).
         * Pure: touches nothing; needs no location.
         */
        Sizes resolveSizes() {
            StoreSizes sizes = StoreSizing.resolve(walSettings(), cacheSettings(), appendSettings(), uploadSettings(),
                    compactionSettings());
            return new Sizes(sizes.walCapacityBytes(), sizes.logCacheBytes(), sizes.uploadThresholdBytes(),
                    sizes.maxBatchBytes(), sizes.walWriteBufferBytes());
        }

        /** The main sizes a store runs with, after defaults were scaled to the user's settings (a view of {@link StoreSizes}). */
        record Sizes(long walCapacityBytes, long logCacheBytes, long uploadThresholdBytes, int maxBatchBytes,
                int walWriteBufferBytes) {
        }
    }
}
