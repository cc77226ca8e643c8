package dev.strata.core.crypto;

/**
 * Wraps and unwraps the data keys (DEKs) that encrypt a tenant's data, under that tenant's master
 * key, and destroys a tenant's master key (crypto-shredding). The store never sees a master key: it
 * generates each DEK itself (256 random bits), asks the provider to {@link #wrap} it once, persists
 * the {@link WrappedKey} in a key record in its object store, and asks the provider to
 * {@link #unwrap} it when a DEK it needs is not in its (bounded) in-memory cache.
 *
 * <p>{@link InMemoryKeyProvider} keeps master keys in this JVM (tests, embedding); a provider backed by
 * a KMS (AWS KMS {@code Encrypt}/{@code Decrypt} or {@code GenerateDataKey}'s wrap, Vault transit,
 * an HSM) is the application's plug-in: {@code Strata.builder().encryption(provider)}.
 *
 * <h2>When the store calls it</h2>
 * {@link #wrap}: on the first encrypted append of a tenant after the store opens, and when a DEK
 * has been used for {@code 2^32} batches (rotation); on the appending thread, before the append
 * takes its stream's lock (so a slow KMS delays that tenant's first append, nothing else).
 * {@link #unwrap}: on a fetch that needs a DEK not cached (after a restart, or once evicted), on a
 * read thread or the caller's thread. {@link #destroy}: from {@code DurableStreamStore.destroyTenantKey}.
 *
 * <h2>Thread-safety</h2>
 * Implementations must be thread-safe: the store calls them from appending threads, read threads
 * and the caller of {@code destroyTenantKey}, concurrently, for the same and different tenants.
 * Calls may block (a network round trip); they must not call back into the store.
 *
 * <h2>Failure</h2>
 * <ul>
 *   <li>A tenant whose master key was destroyed: {@link #wrap} and {@link #unwrap} throw
 *       {@link dev.strata.api.KeyUnavailableException} (not retriable), for good. The store passes it
 *       on: appends to that tenant's streams and fetches of its data fail with it.</li>
 *   <li>A wrapped key that does not unwrap (tampered with, or wrapped for another tenant or by
 *       another master key): {@link dev.strata.api.KeyUnavailableException} or
 *       {@link dev.strata.api.CorruptDataException}; never a wrong key.</li>
 *   <li>A transient failure (KMS throttling or outage): {@link dev.strata.api.StorageException} with
 *       {@code retriable=true}; the append or fetch fails with it and may be retried.</li>
 *   <li>Anything else the provider throws is wrapped in a non-retriable
 *       {@link dev.strata.api.KeyUnavailableException} naming the tenant.</li>
 * </ul>
 */
public interface KeyProvider {

    /**
     * Encrypts {@code dataKey} (32 bytes, AES-256) under {@code tenant}'s master key, creating that
     * master key if the provider does so on first use. Must not keep {@code dataKey}.
     *
     * @throws dev.strata.api.KeyUnavailableException if the tenant's master key was destroyed
     */
    WrappedKey wrap(String tenant, byte[] dataKey);

    /**
     * Decrypts a key {@link #wrap} made for {@code tenant}; returns a new array the store owns (it
     * zeroes it once it has made its cipher key from it).
     *
     * @throws dev.strata.api.KeyUnavailableException if the tenant's master key was destroyed, or the
     *     key was not wrapped for this tenant
     */
    byte[] unwrap(String tenant, WrappedKey wrapped);

    /**
     * Re-wraps a key {@link #wrap} made for {@code tenant} under the tenant's <em>current</em> master
     * key (after a rotation of the master key: {@code DurableStreamStore.rewrapTenantKeys}), so that
     * older master key versions can be retired. The default unwraps and wraps again (the DEK passes
     * through this JVM, zeroed afterwards); a KMS provider may override it with the KMS's own
     * re-encryption (AWS KMS {@code ReEncrypt}, Vault transit {@code rewrap}), which never reveals the DEK.
     *
     * @throws dev.strata.api.KeyUnavailableException if the tenant's master key was destroyed, or the
     *     key was not wrapped for this tenant
     */
    default WrappedKey rewrap(String tenant, WrappedKey wrapped) {
        byte[] raw = unwrap(tenant, wrapped);
        try {
            return wrap(tenant, raw);
        } finally {
            java.util.Arrays.fill(raw, (byte) 0);
        }
    }

    /**
     * Destroys {@code tenant}'s master key, irreversibly: afterwards {@link #wrap} and
     * {@link #unwrap} for the tenant throw {@link dev.strata.api.KeyUnavailableException}. Idempotent.
     * Returns once the destruction is final (for a KMS: the key is scheduled for deletion and
     * disabled, so no decrypt succeeds any more).
     */
    void destroy(String tenant);
}
