package dev.strata.core.crypto;

import dev.strata.api.KeyUnavailableException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A {@link KeyProvider} that keeps one AES-256 master key per tenant in this JVM's heap, created on
 * first use from a {@link SecureRandom}. Wrapping is AES-256-GCM under the master key with a random
 * 96-bit nonce and the tenant's name as associated data, so a wrapped key only unwraps for the
 * tenant it was made for: {@code ciphertext = nonce (12) | encrypted key (32) | tag (16)}.
 *
 * <p>For tests and for embedding where the master keys need not outlive the process: the keys are
 * not persisted, so a store encrypted with this provider can be read only by a process holding the
 * same instance. Use a KMS-backed provider in production.
 *
 * <p>{@link #destroy} overwrites the master key's bytes with zeros and remembers the tenant as
 * destroyed: from then on {@link #wrap} and {@link #unwrap} throw {@link KeyUnavailableException}
 * (a destroyed tenant never gets a new master key from this instance).
 *
 * <p>Master keys have versions ({@link #rotateMasterKey}, {@link #retireOlderVersions}), as a KMS key
 * does: the master key id of a wrapped key names the version ({@code inmemory:<tenant>:<version>}),
 * so keys wrapped under an older version still unwrap until it is retired.
 *
 * <p>Thread-safe: every method synchronizes on this instance (wrapping is microseconds).
 */
public final class InMemoryKeyProvider implements KeyProvider {
    private static final int KEY_BYTES = 32;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final SecureRandom random;
    // guarded by: this; the current master key version per tenant, and every version not retired
    private final Map<String, Integer> currentVersion = new HashMap<>();
    // guarded by: this; key "tenant:version"
    private final Map<String, byte[]> masterKeys = new HashMap<>();
    // guarded by: this
    private final Set<String> destroyed = new HashSet<>();

    /** A provider drawing master keys and nonces from a new {@link SecureRandom}. */
    public InMemoryKeyProvider() {
        this(new SecureRandom());
    }

    /** A provider drawing master keys and nonces from {@code random}. */
    public InMemoryKeyProvider(SecureRandom random) {
        if (random == null) {
            throw new IllegalArgumentException("random must not be null");
        }
        this.random = random;
    }

    @Override
    public synchronized WrappedKey wrap(String tenant, byte[] dataKey) {
        if (dataKey == null || dataKey.length != KEY_BYTES) {
            throw new IllegalArgumentException("dataKey must be " + KEY_BYTES + " bytes, got "
                    + (dataKey == null ? "null" : dataKey.length));
        }
        checkUsable(tenant);
        int version = currentVersion.computeIfAbsent(tenant, t -> 1);
        byte[] master = masterKeys.computeIfAbsent(versionKey(tenant, version), k -> {
            byte[] fresh = new byte[KEY_BYTES];
            random.nextBytes(fresh);
            return fresh;
        });
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = cipher(Cipher.ENCRYPT_MODE, master, nonce, tenant);
            ByteBuffer out = ByteBuffer.allocate(NONCE_BYTES + KEY_BYTES + TAG_BITS / 8);
            out.put(nonce);
            cipher.doFinal(ByteBuffer.wrap(dataKey), out);
            return new WrappedKey(masterKeyId(tenant, version), out.array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM wrap failed: tenant=" + tenant, e);
        }
    }

    @Override
    public synchronized byte[] unwrap(String tenant, WrappedKey wrapped) {
        if (wrapped == null) {
            throw new IllegalArgumentException("wrapped must not be null");
        }
        checkUsable(tenant);
        String prefix = "inmemory:" + tenant + ":";
        byte[] master = null;
        if (wrapped.masterKeyId().startsWith(prefix)) {
            try {
                master = masterKeys.get(versionKey(tenant, Integer.parseInt(wrapped.masterKeyId().substring(prefix.length()))));
            } catch (NumberFormatException e) {
                master = null;
            }
        }
        if (master == null) {
            throw new KeyUnavailableException(tenant, "no master key for this wrapped key in this provider (or its version"
                    + " was retired): tenant=" + tenant + " masterKeyId=" + wrapped.masterKeyId());
        }
        byte[] blob = wrapped.ciphertext();
        if (blob.length != NONCE_BYTES + KEY_BYTES + TAG_BITS / 8) {
            throw new KeyUnavailableException(tenant, "wrapped key has the wrong size: tenant=" + tenant + " bytes="
                    + blob.length);
        }
        try {
            Cipher cipher = cipher(Cipher.DECRYPT_MODE, master, Arrays.copyOf(blob, NONCE_BYTES), tenant);
            return cipher.doFinal(blob, NONCE_BYTES, blob.length - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new KeyUnavailableException(tenant, "wrapped key does not unwrap under the tenant's master key"
                    + " (tampered with, or wrapped for another tenant): tenant=" + tenant, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unwrap failed: tenant=" + tenant, e);
        }
    }

    @Override
    public synchronized void destroy(String tenant) {
        Integer current = currentVersion.remove(tenant);
        for (int v = 1; current != null && v <= current; v++) {
            byte[] master = masterKeys.remove(versionKey(tenant, v));
            if (master != null) {
                Arrays.fill(master, (byte) 0);
            }
        }
        destroyed.add(tenant);
    }

    /** Whether {@link #destroy} was called for {@code tenant}. */
    public synchronized boolean isDestroyed(String tenant) {
        return destroyed.contains(tenant);
    }

    /**
     * Rotates {@code tenant}'s master key: a new version wraps from now on; the older versions still
     * unwrap until {@link #retireOlderVersions}. Returns the new version (the first is 1).
     */
    public synchronized int rotateMasterKey(String tenant) {
        checkUsable(tenant);
        int next = currentVersion.getOrDefault(tenant, 0) + 1;
        byte[] fresh = new byte[KEY_BYTES];
        random.nextBytes(fresh);
        masterKeys.put(versionKey(tenant, next), fresh);
        currentVersion.put(tenant, next);
        return next;
    }

    /**
     * Destroys every master key version of {@code tenant} but the current one (after the tenant's
     * data keys were re-wrapped): keys wrapped under them no longer unwrap.
     */
    public synchronized void retireOlderVersions(String tenant) {
        Integer current = currentVersion.get(tenant);
        for (int v = 1; current != null && v < current; v++) {
            byte[] master = masterKeys.remove(versionKey(tenant, v));
            if (master != null) {
                Arrays.fill(master, (byte) 0);
            }
        }
    }

    /** Caller holds this monitor. */
    private void checkUsable(String tenant) {
        if (tenant == null || tenant.isEmpty()) {
            throw new IllegalArgumentException("tenant must not be empty, got " + (tenant == null ? "null" : "\"\""));
        }
        if (destroyed.contains(tenant)) {
            throw new KeyUnavailableException(tenant, "tenant's master key was destroyed: tenant=" + tenant);
        }
    }

    private static String versionKey(String tenant, int version) {
        return tenant + ":" + version;
    }

    private static String masterKeyId(String tenant, int version) {
        return "inmemory:" + tenant + ":" + version;
    }

    private static Cipher cipher(int mode, byte[] master, byte[] nonce, String tenant) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(mode, new SecretKeySpec(master, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
        cipher.updateAAD(("strata-dek:" + tenant).getBytes(StandardCharsets.UTF_8));
        return cipher;
    }
}
