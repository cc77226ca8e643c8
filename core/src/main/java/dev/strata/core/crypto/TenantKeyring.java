package dev.strata.core.crypto;

import dev.strata.api.CorruptDataException;
import dev.strata.api.KeyUnavailableException;
import dev.strata.api.StorageException;
import dev.strata.api.StrataException;
import dev.strata.core.crypto.KeyRecordDescriptor.KeyRecord;
import dev.strata.core.support.Futures;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectNotFoundException;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.PreconditionFailedException;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.format.StreamBatch;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import javax.crypto.spec.SecretKeySpec;

/**
 * The store's data keys (DEKs) per tenant: makes, persists, caches and forgets them, and turns stored
 * batches back into the appended bytes. Internal: not API.
 *
 * <h2>Design</h2>
 * Encryption happens once, at append, before the WAL: an encrypting tenant's batch is stored as an
 * envelope ({@link EnvelopeDescriptor}) in the WAL, the LogCache, stream-set objects and compacted
 * objects alike, and decrypted on fetch. A DEK is made by the process that encrypts with it: on the
 * first encrypted append of a tenant after the store opened, 32 random bytes, wrapped by the
 * {@link KeyProvider}, written as a key record ({@link KeyRecordDescriptor}) with
 * {@code If-None-Match: *}; only then is the first batch under it handed to the WAL, so every
 * acknowledged encrypted batch has a durable key record. Decryption needs the batch's DEK: cached
 * (at most {@link #MAX_CACHED_KEYS}, least recently used dropped), else read from its record and
 * unwrapped by the provider.
 *
 * <h2>Concurrency</h2>
 * {@code lock} guards the cache, the current keys and the destroyed set; no I/O or provider call runs
 * under it. Making a tenant's DEK runs under that tenant's own monitor (one record per tenant, not
 * one per racing appender). Loading a DEK for reading is not single-flight: two readers missing at
 * once both read and unwrap it (idempotent, and rare). A load that finishes after the tenant's key
 * was destroyed is not cached (checked under {@code lock}).
 *
 * <h2>Failure</h2>
 * Destroyed keys, missing key records, a provider's refusal: {@link KeyUnavailableException}. A
 * provider's {@link StrataException} (e.g. a retriable {@link StorageException}) passes through;
 * anything else it throws becomes a {@link KeyUnavailableException}. Object-store failures:
 * {@link StorageException}. Tampered envelopes or records: {@link CorruptDataException}.
 *
 * <p>Thread-safe.
 */
public final class TenantKeyring {
    /** DEKs kept unwrapped in memory; a miss costs one GET and one unwrap. 1,024 keys are ~100 KiB. */
    public static final int MAX_CACHED_KEYS = 1024;
    private static final int DEK_BYTES = 32;

    /** A keyring that encrypts nothing and refuses to decrypt (a store without a key provider). */
    public static TenantKeyring disabled() {
        return new TenantKeyring(null, t -> false, null, Clock.systemUTC(), () -> -1, id -> Optional.empty(), id -> -1);
    }

    private final KeyProvider provider;
    private final Predicate<String> encryptedTenants;
    private final ObjectStorage storage;
    private final Clock clock;
    private final LongSupplier nodeEpoch;
    private final LongFunction<Optional<String>> tenantOfStream;
    private final java.util.function.LongUnaryOperator encryptedFromOfStream;
    private final SecureRandom random = new SecureRandom();

    private final Object lock = new Object();
    // guarded by: lock
    private final LinkedHashMap<Long, DataKey> cache = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, DataKey> eldest) {
            return size() > MAX_CACHED_KEYS;
        }
    };
    // guarded by: lock
    private final Map<String, DataKey> current = new HashMap<>();
    // guarded by: lock
    private final java.util.Set<String> destroyed = new java.util.HashSet<>();
    /** DEKs this process made (its WAL, log cache and uploads in progress may hold batches under them). */
    private final java.util.Set<Long> madeHere = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** One monitor per tenant, for making its DEK. */
    private final java.util.concurrent.ConcurrentHashMap<String, Object> making = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @param provider wraps and unwraps DEKs; null: nothing is encrypted, encrypted data is unreadable
     * @param encryptedTenants which tenants' streams are encrypted (asked at each append)
     * @param storage where key records live (the store's object store)
     * @param tenantOfStream the tenant of a stream, from the metadata
     * @param encryptedFromOfStream the offset from which a stream is encrypted, from the metadata
     *     (-1: not encrypted, or unknown)
     */
    public TenantKeyring(KeyProvider provider, Predicate<String> encryptedTenants, ObjectStorage storage, Clock clock,
            LongSupplier nodeEpoch, LongFunction<Optional<String>> tenantOfStream,
            java.util.function.LongUnaryOperator encryptedFromOfStream) {
        this.encryptedFromOfStream = encryptedFromOfStream;
        this.provider = provider;
        this.encryptedTenants = encryptedTenants;
        this.storage = storage;
        this.clock = clock;
        this.nodeEpoch = nodeEpoch;
        this.tenantOfStream = tenantOfStream;
    }

    /** Whether the store has a key provider. */
    public boolean enabled() {
        return provider != null;
    }

    /** Whether appends to a stream of {@code tenant} (null: none) are encrypted. */
    public boolean encrypts(String tenant) {
        return tenant != null && provider != null && encryptedTenants.test(tenant);
    }

    /**
     * The DEK this process encrypts {@code tenant}'s new batches with: made (wrapped, its record
     * written) on first use and when the current one is exhausted. Blocks for the record's PUT and
     * the provider's wrap on those occasions only.
     *
     * @throws KeyUnavailableException if the tenant's key was destroyed or the provider refuses
     * @throws StorageException if the key record cannot be written
     */
    public DataKey currentKey(String tenant) {
        DataKey key;
        synchronized (lock) {
            checkNotDestroyed(tenant);
            key = current.get(tenant);
        }
        if (key != null && !key.exhausted()) {
            return key;
        }
        synchronized (making.computeIfAbsent(tenant, t -> new Object())) {
            synchronized (lock) {
                checkNotDestroyed(tenant);
                key = current.get(tenant);
            }
            if (key != null && !key.exhausted()) {
                return key;
            }
            if (tombstoned(tenant)) {
                synchronized (lock) {
                    destroyed.add(tenant);
                }
                throw destroyedException(tenant);
            }
            DataKey made = makeKey(tenant);
            synchronized (lock) {
                if (!destroyed.contains(tenant)) {
                    current.put(tenant, made);
                    cache.put(made.id(), made);
                    return made;
                }
            }
            // Destroyed while it was being made: its record may have been written after destroy listed
            // the tenant's records; delete it (best effort: it is wrapped under a destroyed master key).
            storage.delete(List.of(KeyRecordDescriptor.recordKey(tenant, made.id())));
            throw destroyedException(tenant);
        }
    }

    private DataKey makeKey(String tenant) {
        byte[] raw = new byte[DEK_BYTES];
        random.nextBytes(raw);
        try {
            WrappedKey wrapped = callProvider(tenant, () -> provider.wrap(tenant, raw.clone()));
            while (true) {
                long id = random.nextLong();
                KeyRecord record = new KeyRecord(id, clock.millis(), nodeEpoch.getAsLong(), tenant, wrapped);
                madeHere.add(id); // before the record exists: key-record GC never sees it unprotected
                try {
                    await(storage.put(KeyRecordDescriptor.recordKey(tenant, id), KeyRecordDescriptor.encode(record),
                            PutCondition.ifAbsent()));
                } catch (PreconditionFailedException e) {
                    continue; // an id taken before (2^-64 odds): draw another
                }
                return new DataKey(tenant, id, new SecretKeySpec(raw, "AES"), random.nextInt());
            }
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    /**
     * The offset from which {@code streamId}'s batches are all encrypted (its metadata), or -1: pass
     * it to {@link #plaintext}. Looked up once per fetch, not per batch.
     */
    public long encryptedFrom(long streamId) {
        return encryptedFromOfStream.applyAsLong(streamId);
    }

    /**
     * The appended bytes of a stored batch: a view of its payload if it is plain, else the decrypted
     * payload in a new heap buffer. Never returns ciphertext: a plain batch (encrypted bit clear) of
     * a stream that is encrypted at its offsets is refused, for the bit is not authenticated by the
     * envelope (someone who rewrote stored bytes and their CRC cleared it).
     *
     * @param encryptedFrom {@link #encryptedFrom} of the batch's stream
     * @throws KeyUnavailableException if the batch's DEK is unavailable (destroyed, record missing,
     *     no provider)
     * @throws CorruptDataException if the envelope fails authentication or is malformed, or the batch
     *     is plain where its stream is encrypted
     */
    public ByteBuffer plaintext(StreamBatch batch, String where, long encryptedFrom) {
        if (!batch.isEncrypted()) {
            if (encryptedFrom >= 0 && batch.nextOffset() > encryptedFrom) {
                throw new CorruptDataException("unencrypted batch where its stream is encrypted (from offset "
                        + encryptedFrom + "; the encrypted bit was cleared?): " + where + " streamId=" + batch.streamId()
                        + " baseOffset=" + batch.baseOffset() + " count=" + batch.count());
            }
            return batch.payload().nioBuffer();
        }
        long dekId = BatchCipher.dataKeyId(batch, where);
        DataKey key = keyFor(batch.streamId(), dekId, where);
        return BatchCipher.open(batch, key.key(), where);
    }

    private DataKey keyFor(long streamId, long dekId, String where) {
        String tenant = tenantOfStream.apply(streamId).orElse(null);
        if (tenant == null) {
            throw new CorruptDataException("encrypted batch in a stream without a tenant: " + where + " streamId="
                    + streamId + " dekId=" + Long.toHexString(dekId));
        }
        synchronized (lock) {
            checkNotDestroyed(tenant);
            DataKey cached = cache.get(dekId);
            if (cached != null) {
                if (!cached.tenant().equals(tenant)) {
                    throw new CorruptDataException("encrypted batch names another tenant's data key: " + where
                            + " streamId=" + streamId + " tenant=" + tenant + " keyTenant=" + cached.tenant());
                }
                return cached;
            }
        }
        if (provider == null) {
            throw new KeyUnavailableException(tenant, "data is encrypted but the store has no key provider"
                    + " (Strata.builder().encryption(..)): " + where + " streamId=" + streamId + " tenant=" + tenant);
        }
        KeyRecord record = readRecord(tenant, dekId, streamId);
        byte[] raw = callProvider(tenant, () -> provider.unwrap(tenant, record.wrapped()));
        DataKey loaded;
        try {
            if (raw == null || raw.length != DEK_BYTES) {
                throw new KeyUnavailableException(tenant, "key provider returned a data key of the wrong size: tenant="
                        + tenant + " bytes=" + (raw == null ? "null" : raw.length));
            }
            loaded = new DataKey(tenant, dekId, new SecretKeySpec(raw, "AES"), 0);
        } finally {
            if (raw != null) {
                Arrays.fill(raw, (byte) 0);
            }
        }
        synchronized (lock) {
            checkNotDestroyed(tenant); // destroyed while loading: never cache it
            cache.put(dekId, loaded);
        }
        return loaded;
    }

    private KeyRecord readRecord(String tenant, long dekId, long streamId) {
        String key = KeyRecordDescriptor.recordKey(tenant, dekId);
        ObjectData data;
        try {
            data = await(storage.get(key, ByteRange.all()));
        } catch (ObjectNotFoundException e) {
            if (tombstoned(tenant)) {
                synchronized (lock) {
                    destroyed.add(tenant);
                }
                throw destroyedException(tenant);
            }
            throw new KeyUnavailableException(tenant, "key record missing: key=" + key + " streamId=" + streamId
                    + " tenant=" + tenant, e);
        }
        try {
            KeyRecord record = KeyRecordDescriptor.decode(data.content(), "key=" + key);
            if (record.isTombstone() || record.dekId() != dekId || !record.tenant().equals(tenant)) {
                throw new CorruptDataException("key record does not match its key: key=" + key + " dekId="
                        + Long.toHexString(record.dekId()) + " tenant=" + record.tenant());
            }
            return record;
        } finally {
            data.release();
        }
    }

    private boolean tombstoned(String tenant) {
        try {
            await(storage.head(KeyRecordDescriptor.tombstoneKey(tenant)));
            return true;
        } catch (ObjectNotFoundException e) {
            return false;
        }
    }

    /** Whether this process made DEK {@code dekId} (it may protect data not yet in any object). */
    public boolean madeHere(long dekId) {
        return madeHere.contains(dekId);
    }

    /**
     * The DEK ids of every key record in the store, by tenant (tombstones and destroyed tenants left
     * out). Blocking: one LIST of the key records.
     */
    public Map<String, List<Long>> listRecords() {
        Map<String, List<Long>> out = new java.util.TreeMap<>();
        for (ObjectInfo info : await(storage.list(KeyRecordDescriptor.PREFIX))) {
            KeyRecordDescriptor.RecordKey parsed = KeyRecordDescriptor.parseKey(info.key());
            if (parsed == null || parsed.isTombstone()) {
                continue;
            }
            synchronized (lock) {
                if (destroyed.contains(parsed.tenant())) {
                    continue;
                }
            }
            out.computeIfAbsent(parsed.tenant(), t -> new ArrayList<>()).add(parsed.dekId());
        }
        return out;
    }

    /**
     * Deletes {@code tenant}'s key records of {@code dekIds}, whose DEKs protect no live data any more
     * (key-record garbage collection), and drops them from the cache. DEKs this process made are
     * never deleted. Blocking.
     *
     * @return the ids deleted
     */
    public List<Long> deleteRecords(String tenant, java.util.Collection<Long> dekIds) {
        List<Long> ids = new ArrayList<>();
        for (long id : dekIds) {
            if (!madeHere.contains(id)) {
                ids.add(id);
            }
        }
        List<String> keys = new ArrayList<>();
        for (long id : ids) {
            keys.add(KeyRecordDescriptor.recordKey(tenant, id));
        }
        for (int i = 0; i < keys.size(); i += ObjectStorage.MAX_KEYS_PER_DELETE) {
            await(storage.delete(keys.subList(i, Math.min(keys.size(), i + ObjectStorage.MAX_KEYS_PER_DELETE))));
        }
        synchronized (lock) {
            ids.forEach(cache::remove);
        }
        return ids;
    }

    /**
     * Re-wraps every DEK of {@code tenant} under the provider's current master key
     * ({@link KeyProvider#rewrap}) and replaces each key record by one holding the new wrapped key,
     * in one conditional PUT per record ({@code If-Match} its ETag: a record changed meanwhile is read
     * and re-wrapped again). A record already wrapped under the current master key is rewritten all
     * the same (the provider decides what "current" is). DEKs themselves do not change, so no data is
     * rewritten. Blocking: one LIST, and per record a GET, the provider's call and a PUT.
     *
     * @return the number of records replaced
     * @throws KeyUnavailableException if the tenant's key was destroyed or the provider refuses
     * @throws StorageException if the object store fails (call again: each record is replaced whole or not at all)
     */
    public int rewrap(String tenant) {
        if (provider == null) {
            throw new IllegalStateException("the store has no key provider: nothing to re-wrap for tenant " + tenant);
        }
        synchronized (lock) {
            checkNotDestroyed(tenant);
        }
        if (tombstoned(tenant)) {
            throw destroyedException(tenant);
        }
        int replaced = 0;
        for (ObjectInfo info : await(storage.list(KeyRecordDescriptor.tenantPrefix(tenant)))) {
            KeyRecordDescriptor.RecordKey parsed = KeyRecordDescriptor.parseKey(info.key());
            if (parsed == null || parsed.isTombstone()) {
                continue;
            }
            String etag = info.etag();
            while (true) {
                KeyRecord record;
                ObjectData data;
                try {
                    data = await(storage.get(info.key(), ByteRange.all()));
                } catch (ObjectNotFoundException e) {
                    break; // deleted meanwhile (key-record garbage collection): nothing to re-wrap
                }
                try {
                    record = KeyRecordDescriptor.decode(data.content(), "key=" + info.key());
                } finally {
                    data.release();
                }
                if (record.isTombstone() || record.dekId() != parsed.dekId() || !record.tenant().equals(tenant)) {
                    throw new CorruptDataException("key record does not match its key: key=" + info.key());
                }
                WrappedKey rewrapped = callProvider(tenant, () -> provider.rewrap(tenant, record.wrapped()));
                KeyRecord replacement = new KeyRecord(record.dekId(), clock.millis(), nodeEpoch.getAsLong(), tenant, rewrapped);
                try {
                    await(storage.put(info.key(), KeyRecordDescriptor.encode(replacement),
                            etag == null ? PutCondition.none() : PutCondition.ifMatch(etag)));
                    replaced++;
                    break;
                } catch (PreconditionFailedException e) {
                    etag = await(storage.head(info.key())).etag(); // changed since listed: again, from what it is now
                } catch (ObjectNotFoundException e) {
                    break;
                }
            }
        }
        return replaced;
    }

    /**
     * Crypto-shreds {@code tenant}: from the call on, this store encrypts and decrypts nothing of the
     * tenant (cached DEKs dropped, appends and fetches fail with {@link KeyUnavailableException});
     * then, durably and in this order, a tombstone record (so a restarted store refuses too, whatever
     * the provider says), the provider's {@link KeyProvider#destroy}, and the deletion of every key
     * record of the tenant (so the wrapped DEKs are gone even if the master key survived in a backup).
     * Returns the number of key records deleted. Blocking; idempotent.
     *
     * @throws StorageException if the object store fails (call again: every step is idempotent)
     */
    public int destroy(String tenant) {
        if (provider == null) {
            throw new IllegalStateException("the store has no key provider: nothing to destroy for tenant " + tenant);
        }
        synchronized (lock) {
            destroyed.add(tenant);
            current.remove(tenant);
            cache.values().removeIf(k -> k.tenant().equals(tenant));
        }
        KeyRecord tombstone = new KeyRecord(-1, clock.millis(), nodeEpoch.getAsLong(), tenant, null);
        await(storage.put(KeyRecordDescriptor.tombstoneKey(tenant), KeyRecordDescriptor.encode(tombstone),
                PutCondition.none()));
        callProvider(tenant, () -> {
            provider.destroy(tenant);
            return null;
        });
        List<String> records = new ArrayList<>();
        for (ObjectInfo info : await(storage.list(KeyRecordDescriptor.tenantPrefix(tenant)))) {
            if (!info.key().equals(KeyRecordDescriptor.tombstoneKey(tenant))) {
                records.add(info.key());
            }
        }
        for (int i = 0; i < records.size(); i += ObjectStorage.MAX_KEYS_PER_DELETE) {
            await(storage.delete(records.subList(i, Math.min(records.size(), i + ObjectStorage.MAX_KEYS_PER_DELETE))));
        }
        return records.size();
    }

    // caller holds lock
    private void checkNotDestroyed(String tenant) {
        if (destroyed.contains(tenant)) {
            throw destroyedException(tenant);
        }
    }

    private static KeyUnavailableException destroyedException(String tenant) {
        return new KeyUnavailableException(tenant, "tenant's key was destroyed (crypto-shredded): tenant=" + tenant);
    }

    private interface ProviderCall<T> {
        T call();
    }

    private static <T> T callProvider(String tenant, ProviderCall<T> call) {
        try {
            return call.call();
        } catch (StrataException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new KeyUnavailableException(tenant, "key provider failed: tenant=" + tenant + " error=" + e, e);
        }
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (RuntimeException e) {
            Throwable t = Futures.unwrap(e);
            if (t instanceof RuntimeException r) {
                throw r;
            }
            throw new StorageException("key record I/O failed", true, t);
        }
    }
}
