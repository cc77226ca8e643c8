package dev.strata.jmh.runner;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.wal.WalOptions;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * How a scenario's store is built: the data directory (WAL file, and objects unless an object store
 * is given), sizes, and the upload policy. Every scenario gets its own directory and object prefix.
 *
 * @param dataDir the scenario's own directory
 * @param objectStore object store URI already pointing at the scenario's own prefix, or null
 * @param walBytes WAL file size
 * @param cacheBytes LogCache and BlockCache size each
 * @param deferUploads true to keep data in the WAL (recovery scenario: upload only when half the
 *     cache or WAL is used, or after ten minutes)
 * @param stages receives every append's stage timestamps ({@code --stages}), or null; not passed to
 *     another process by {@link #toArgs}
 * @param walBackend the WAL's I/O backend ({@code --wal-backend})
 */
record StoreSettings(Path dataDir, URI objectStore, long walBytes, long cacheBytes, boolean deferUploads,
        StageRecorder stages, WalOptions.Backend walBackend) {

    /** How many arguments {@link #toArgs} gives (a child process's own arguments follow them). */
    static final int ARG_COUNT = 6;

    /** Largest batch the runner appends; bounds the WAL write buffer, so small WALs work. */
    static final int MAX_BATCH_BYTES = 1 << 20;
    /** Upload age trigger: short, so tail and replay see data reach objects within a run. */
    static final Duration UPLOAD_INTERVAL = Duration.ofSeconds(1);

    /** The upload size trigger: a quarter of the smaller of cache and WAL, at most 64 MiB. */
    long uploadThresholdBytes() {
        long smaller = Math.min(cacheBytes, walBytes);
        return deferUploads ? smaller / 2 : Math.min(64L << 20, smaller / 4);
    }

    /** The same settings with uploads deferred (see {@link #deferUploads}). */
    StoreSettings withDeferredUploads() {
        return new StoreSettings(dataDir, objectStore, walBytes, cacheBytes, true, stages, walBackend);
    }

    /** The store's objects as a URI: the object store, or the directory beside the WAL. */
    URI objectsUri() {
        return objectStore != null ? objectStore
                : dataDir.resolve(dev.strata.core.settings.LocationSettings.DEFAULT_OBJECT_DIR).toUri();
    }

    DurableStreamStore open() {
        return open(b -> b);
    }

    /** Opens the store with these settings, then {@code customize}'s (e.g. compaction settings). */
    DurableStreamStore open(java.util.function.UnaryOperator<Strata.Builder> customize) {
        Strata.Builder b = Strata.builder()
                .dataDir(dataDir)
                .walCapacity(walBytes)
                .walBackend(walBackend)
                .logCacheBytes(cacheBytes)
                .blockCacheBytes(cacheBytes)
                .maxInFlightReadBytes(Math.max(1L << 20, Math.min(64L << 20, cacheBytes / 4)))
                .uploadThresholdBytes(uploadThresholdBytes())
                .uploadInterval(deferUploads ? Duration.ofMinutes(10) : UPLOAD_INTERVAL)
                .maxBatchBytes((int) Math.min(MAX_BATCH_BYTES, walBytes / 16))
                .objectBlockBytes((int) Math.max(64 << 10, Math.min(1 << 20, cacheBytes / 16)));
        if (objectStore != null) {
            b.objectStore(objectStore);
        }
        if (stages != null) {
            b.appendStageListener(stages);
        }
        return customize.apply(b).build();
    }

    /** {@code base} with {@code /name} appended to its path (a fresh prefix per scenario run). */
    static URI withPrefix(URI base, String name) {
        String path = base.getPath() == null || base.getPath().isEmpty() ? "/" : base.getPath();
        String joined = (path.endsWith("/") ? path : path + "/") + name;
        try {
            return new URI(base.getScheme(), base.getAuthority(), joined, base.getQuery(), base.getFragment());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--object-store: cannot add prefix " + name + " to " + base, e);
        }
    }

    /** Arguments that rebuild these settings in another process ({@link #fromArgs}). */
    String[] toArgs() {
        return new String[] {dataDir.toString(), objectStore == null ? "-" : objectStore.toString(),
                Long.toString(walBytes), Long.toString(cacheBytes), Boolean.toString(deferUploads), walBackend.name()};
    }

    static StoreSettings fromArgs(String[] args, int from) {
        return new StoreSettings(Path.of(args[from]), "-".equals(args[from + 1]) ? null : URI.create(args[from + 1]),
                Long.parseLong(args[from + 2]), Long.parseLong(args[from + 3]), Boolean.parseBoolean(args[from + 4]), null,
                WalOptions.Backend.valueOf(args[from + 5]));
    }
}
