package dev.strata.api;

/**
 * The data key that encrypts a tenant's data cannot be had: the tenant's key was destroyed
 * (crypto-shredding: {@code DurableStreamStore.destroyTenantKey}, or the key provider destroyed it),
 * the store has no key provider but the data is encrypted, or the key provider refused to unwrap or
 * wrap a data key. A fetch of such data fails with it (never returning ciphertext as data), and so
 * does an append to a stream of a tenant whose key was destroyed.
 *
 * <p>Not retriable: a destroyed key stays destroyed. A key provider that fails transiently (a KMS
 * outage) should throw {@link StorageException} (retriable) instead, which the store passes on.
 */
public class KeyUnavailableException extends StrataException {
    private static final long serialVersionUID = 1L;

    private final String tenant;

    /**
     * @param tenant the tenant whose key is unavailable, or null if not known
     * @param message what failed, in the form {@code what: key=value ...}
     */
    public KeyUnavailableException(String tenant, String message) {
        super(message);
        this.tenant = tenant;
    }

    /** As {@link #KeyUnavailableException(String, String)}, with the provider's exception as the cause. */
    public KeyUnavailableException(String tenant, String message, Throwable cause) {
        super(message, cause);
        this.tenant = tenant;
    }

    /** The tenant whose key is unavailable, or null if not known. */
    public String tenant() {
        return tenant;
    }

    /** Always {@code false}: a destroyed key never comes back. */
    @Override
    public boolean isRetriable() {
        return false;
    }
}
