/**
 * Client-side envelope encryption per tenant, and crypto-shredding.
 *
 * <p>Public (API): {@link dev.strata.core.crypto.KeyProvider}, the SPI that wraps and unwraps data
 * keys under a tenant's master key and destroys master keys (a KMS-backed implementation is the
 * application's plug-in); {@link dev.strata.core.crypto.WrappedKey}, what it returns; and
 * {@link dev.strata.core.crypto.InMemoryKeyProvider}, master keys in this JVM for tests and embedding.
 * Enabled with {@code Strata.builder().encryption(provider[, tenants])}; a tenant is shredded with
 * {@code DurableStreamStore.destroyTenantKey}; its data keys are re-wrapped under a rotated master
 * key with {@code DurableStreamStore.rewrapTenantKeys} ({@link dev.strata.core.crypto.KeyProvider#rewrap}).
 *
 * <p>Internal (public only so that the engine's packages can use them; not API, may change):
 * {@link dev.strata.core.crypto.TenantKeyring} (makes, persists, caches and forgets data keys;
 * decrypts fetched batches), {@link dev.strata.core.crypto.BatchCipher} (seals and opens one batch's
 * envelope), {@link dev.strata.core.crypto.DataKey}, and the two formats this package owns, each with
 * its descriptor: {@link dev.strata.core.crypto.EnvelopeDescriptor} (the encrypted payload of a
 * stream batch) and {@link dev.strata.core.crypto.KeyRecordDescriptor} (wrapped data keys and
 * tombstones under {@code keys/} in the object store).
 *
 * <p>Owns: which batches are encrypted (an encrypting tenant's, decided at append), the envelope, the
 * nonce scheme, data keys and their records (made here; deleted by {@code core.compaction}'s garbage
 * collection once no object names them, re-wrapped here), shredding, and the refusal of a plain
 * batch where its stream's metadata says it is encrypted. Does not own: the stream batch around the
 * envelope (objectstore's {@code StreamBatchDescriptor}: attribute bit 0 marks an envelope), when an
 * append happens ({@code core.append}: it calls {@link dev.strata.core.crypto.BatchCipher} under the
 * stream's lock) or where fetches read ({@code core.read}: both read paths go through
 * {@link dev.strata.core.crypto.TenantKeyring#plaintext}), master keys (the provider's).
 *
 * <p>Threads: encryption runs on the appending thread; a tenant's first encrypted append after open
 * blocks that thread for the provider's wrap and the key record's PUT. Decryption runs where fetches
 * run (the caller's thread for tail reads, "strata-read-N" for catch-up reads), and a data key that
 * is not cached costs that thread one GET and one unwrap. {@code destroyTenantKey} runs on its
 * caller's thread. No provider call runs under a lock of the store.
 *
 * <p>Buffers: sealing writes into the append's pooled buffer (owned by the append path); opening
 * returns a new heap buffer, so a fetched encrypted batch holds no pooled memory. Key records are
 * heap buffers handed to the object store, which releases them. Data keys live in heap
 * {@code SecretKeySpec}s; raw key bytes are zeroed once the spec is made.
 */
package dev.strata.core.crypto;
