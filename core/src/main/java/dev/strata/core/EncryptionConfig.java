package dev.strata.core;

import dev.strata.core.crypto.KeyProvider;
import java.util.function.Predicate;

/**
 * What {@link Strata.Builder#encryption} set: the key provider and which tenants' streams are
 * encrypted. Immutable.
 */
record EncryptionConfig(KeyProvider provider, Predicate<String> tenants) {
    EncryptionConfig {
        if (provider == null || tenants == null) {
            throw new IllegalArgumentException("provider and tenants must not be null");
        }
    }
}
