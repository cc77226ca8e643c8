package dev.strata.core;

import dev.strata.api.StreamStore;
import java.util.concurrent.CompletableFuture;

/**
 * The {@link StreamStore} that {@link Strata#builder()} builds, with the engine's extra operations.
 * Thread-safe, like every {@link StreamStore}.
 */
public interface DurableStreamStore extends StreamStore {

    /** What opening the store replayed from the WAL. */
    StoreRecoveryReport recoveryReport();

    /**
     * The WAL's I/O backend: {@code pwritev2}, {@code io_uring}, {@code filechannel-direct} or
     * {@code filechannel-buffered} (also logged once at open). Thread-safe.
     */
    String walBackend();

    /**
     * Uploads everything acknowledged so far to object storage and commits it, now (instead of at the
     * next size or age trigger). Completes when committed; fails with
     * {@link dev.strata.api.StorageException} if the object store fails (the data stays in the WAL and
     * background uploads retry) or {@link dev.strata.api.StreamFencedException} if a newer process
     * took over.
     */
    CompletableFuture<Void> flush();

    /**
     * Runs one compaction and garbage-collection cycle now (the one the store also runs on its
     * schedule): drops objects holding only trimmed or deleted data, splits stream-set objects into
     * stream objects, merges small stream objects, deletes replaced objects whose grace period ended
     * and orphans older than the orphan TTL. Completes when the cycle is done, after any running one.
     * A task that fails (object-store errors) is reported in the result and retried next cycle; the
     * future fails with {@link dev.strata.api.StreamFencedException} if a newer process took over, or
     * {@link dev.strata.api.StreamClosedException} if the store is closed. Thread-safe.
     */
    CompletableFuture<CompactionReport> compact();

    /**
     * Objects, stored and live bytes, amplification, compaction backlog and garbage, from the local
     * metadata view (no I/O). Thread-safe.
     */
    StorageSummary storageSummary();

    /**
     * The store's byte-rate quotas per stream and per tenant for appends and catch-up reads, set and
     * changed at run time (not persisted), and what they throttled. Thread-safe.
     */
    Quotas quotas();

    /**
     * Catch-up read counters since the store opened: fetches answered from objects, the bytes they
     * returned, and the bytes loaded from objects for them (read amplification). Thread-safe; no I/O.
     */
    ReadStats readStats();

    /**
     * The most direct (off-heap) memory this store holds, by component, from its configuration. Size
     * {@code -XX:MaxDirectMemorySize} from it. Thread-safe; no I/O.
     */
    MemoryLimits memoryLimits();

    /**
     * Crypto-shreds {@code tenant}: makes every byte of its encrypted data unreadable, everywhere (the
     * WAL, the LogCache, stream-set and stream objects, in this store and any store or backup of its
     * bucket), by destroying its keys. In order: this store stops encrypting and decrypting for the
     * tenant and drops its cached data keys; a tombstone key record is written (a reopened store
     * refuses the tenant even if the provider would not); the {@link dev.strata.core.crypto.KeyProvider}
     * destroys the tenant's master key; every key record (wrapped data key) of the tenant is deleted;
     * then {@link AuditEvent.Type#KEY_DESTROYED} goes to the audit listener with the actor of
     * {@link AuditActor#current()}. Afterwards fetches of the tenant's data and appends to its
     * streams fail with {@link dev.strata.api.KeyUnavailableException}; other tenants are not affected.
     * The streams themselves stay (delete them to reclaim their storage).
     *
     * <p>Irreversible. Blocks the calling thread for the object-store requests and the provider's
     * destroy. Idempotent: if it fails part way ({@link dev.strata.api.StorageException}), call it
     * again. Thread-safe.
     *
     * @throws IllegalArgumentException if {@code tenant} is not a valid tenant name
     * @throws IllegalStateException if the store was built without {@link Strata.Builder#encryption}
     * @throws dev.strata.api.StreamClosedException if the store is closed
     */
    void destroyTenantKey(String tenant);

    /**
     * Re-wraps every data key of {@code tenant} under the key provider's current master key
     * ({@link dev.strata.core.crypto.KeyProvider#rewrap}), after the master key was rotated in the KMS,
     * so that its older versions can be retired: each key record ({@code keys/tenant=<t>/<id>}) is
     * replaced whole, in one conditional PUT, by one holding the new wrapped key (a record changed
     * meanwhile is re-read and re-wrapped). The data keys themselves, and so the data, do not change:
     * nothing else is rewritten. Then {@link AuditEvent.Type#KEY_REWRAPPED} goes to the audit listener
     * with the actor of {@link AuditActor#current()}.
     *
     * <p>Blocks the calling thread: one LIST, then per key record a GET, the provider's call and a
     * PUT. Idempotent: if it fails part way, call it again. Thread-safe.
     *
     * @return the number of key records replaced
     * @throws IllegalArgumentException if {@code tenant} is not a valid tenant name
     * @throws IllegalStateException if the store was built without {@link Strata.Builder#encryption}
     * @throws dev.strata.api.KeyUnavailableException if the tenant's key was destroyed or the provider refuses
     * @throws dev.strata.api.StorageException if the object store fails
     * @throws dev.strata.api.StreamClosedException if the store is closed
     */
    int rewrapTenantKeys(String tenant);
}
