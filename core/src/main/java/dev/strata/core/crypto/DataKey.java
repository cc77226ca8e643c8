package dev.strata.core.crypto;

import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.spec.SecretKeySpec;

/**
 * One data key (DEK) of a tenant, unwrapped, as this process encrypts or decrypts with it. Only the
 * process that generated a DEK encrypts with it ({@link #nextCounter}); DEKs loaded from key
 * records are used for decryption only. Internal: not API.
 *
 * <p>Thread-safe: the counter is atomic, the rest immutable.
 */
public final class DataKey {
    private final String tenant;
    private final long id;
    private final SecretKeySpec key;
    /** The nonce's first 4 bytes, random per DEK (defence in depth; the counter alone is unique). */
    private final int fixedField;
    private final AtomicLong counter = new AtomicLong();

    DataKey(String tenant, long id, SecretKeySpec key, int fixedField) {
        this.tenant = tenant;
        this.id = id;
        this.key = key;
        this.fixedField = fixedField;
    }

    public String tenant() {
        return tenant;
    }

    public long id() {
        return id;
    }

    SecretKeySpec key() {
        return key;
    }

    int fixedField() {
        return fixedField;
    }

    /** The next nonce counter: never the same twice for this key. */
    long nextCounter() {
        return counter.getAndIncrement();
    }

    /** Whether this key has encrypted {@link EnvelopeDescriptor#MAX_BATCHES_PER_KEY} batches and must be replaced. */
    boolean exhausted() {
        return counter.get() >= EnvelopeDescriptor.MAX_BATCHES_PER_KEY;
    }

    @Override
    public String toString() {
        return "DataKey[tenant=" + tenant + ", id=" + Long.toHexString(id) + "]"; // never the key
    }
}
