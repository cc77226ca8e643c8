package dev.strata.core.crypto;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A data key as a {@link KeyProvider} wrapped it (encrypted under a tenant's master key): what the
 * store persists in its key records, never the data key itself. Immutable (copies in and out).
 *
 * @param masterKeyId which master key (and version) wrapped it, as the provider names it (a KMS key
 *     ARN, "inmemory:acme:1", ...); 1 to {@value #MAX_MASTER_KEY_ID_BYTES} UTF-8 bytes
 * @param ciphertext the wrapped key, opaque to the store; 1 to {@value #MAX_CIPHERTEXT_BYTES} bytes
 */
public record WrappedKey(String masterKeyId, byte[] ciphertext) {
    /** Longest master key id, in UTF-8 bytes (it is stored with a 16-bit length). */
    public static final int MAX_MASTER_KEY_ID_BYTES = 1024;
    /** Longest wrapped key (a KMS ciphertext blob is a few hundred bytes). */
    public static final int MAX_CIPHERTEXT_BYTES = 8192;

    public WrappedKey {
        if (masterKeyId == null || masterKeyId.isEmpty()
                || masterKeyId.getBytes(StandardCharsets.UTF_8).length > MAX_MASTER_KEY_ID_BYTES) {
            throw new IllegalArgumentException("masterKeyId must be 1-" + MAX_MASTER_KEY_ID_BYTES + " UTF-8 bytes, got "
                    + (masterKeyId == null ? "null" : masterKeyId.length() + " characters"));
        }
        if (ciphertext == null || ciphertext.length == 0 || ciphertext.length > MAX_CIPHERTEXT_BYTES) {
            throw new IllegalArgumentException("ciphertext must be 1-" + MAX_CIPHERTEXT_BYTES + " bytes, got "
                    + (ciphertext == null ? "null" : ciphertext.length));
        }
        ciphertext = ciphertext.clone();
    }

    /** A copy of the wrapped bytes. */
    @Override
    public byte[] ciphertext() {
        return ciphertext.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WrappedKey other && masterKeyId.equals(other.masterKeyId)
                && Arrays.equals(ciphertext, other.ciphertext);
    }

    @Override
    public int hashCode() {
        return 31 * masterKeyId.hashCode() + Arrays.hashCode(ciphertext);
    }

    @Override
    public String toString() {
        return "WrappedKey[masterKeyId=" + masterKeyId + ", ciphertextBytes=" + ciphertext.length + "]";
    }
}
