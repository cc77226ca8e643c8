package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.KeyUnavailableException;
import dev.strata.api.RecordBatch;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.crypto.EnvelopeDescriptor;
import dev.strata.core.crypto.InMemoryKeyProvider;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client-side encryption per tenant, end to end through the durable store: encrypted and plain
 * streams read back their exact bytes from the LogCache, from uploaded and compacted objects, after
 * a restart and after WAL replay; only ciphertext of an encrypting tenant reaches the WAL and the
 * objects; destroying a tenant's key (crypto-shredding) leaves no plaintext in any file and fails
 * that tenant's fetches with {@link KeyUnavailableException} while other tenants keep working.
 */
class EncryptionTest {
    @TempDir
    Path dir;

    private final InMemoryKeyProvider provider = new InMemoryKeyProvider();
    private final List<AuditEvent> events = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeStorages() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    /** Object storage in {@code dir/objects} whose data-object uploads can be refused (the WAL then keeps the data). */
    private UploadGate storage() {
        UploadGate gate = new UploadGate(LocalObjectStorage.open(dir.resolve("objects")));
        toClose.add(gate);
        return gate;
    }

    private Strata.Builder builder(ObjectStorage storage) {
        return StoreFixtures.small(dir).objectStorage(storage).uploadInterval(Duration.ofHours(1))
                .uploadThresholdBytes(4L << 20).logCacheBytes(16L << 20).walCapacity(32L << 20)
                .compactionInterval(Duration.ZERO).closeUploadTimeout(Duration.ofMillis(300)).auditListener(events::add);
    }

    private Strata.Builder encrypted(ObjectStorage storage) {
        return builder(storage).encryption(provider, tenant -> !tenant.equals("globex"));
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Appends each payload as one batch of 2 records; returns payload by base offset. */
    private static Map<Long, byte[]> append(Stream s, List<byte[]> payloads) {
        Map<Long, byte[]> out = new TreeMap<>();
        for (byte[] p : payloads) {
            long base = s.append(RecordBatch.of(2, 1000 + out.size(), ByteBuffer.wrap(p))).join().baseOffset();
            out.put(base, p);
        }
        return out;
    }

    private static List<byte[]> payloads(String prefix, int n) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder b = new StringBuilder();
            while (b.length() < 200 + 37 * i) {
                b.append(prefix).append('-').append(i).append('-').append(b.length()).append(';');
            }
            out.add(text(b.toString()));
        }
        out.add(new byte[0]); // an empty payload is a valid batch, encrypted or not
        return out;
    }

    /** Reads the whole stream in small fetches and checks every batch against {@code expected}. */
    private static void assertReadsBack(Stream s, Map<Long, byte[]> expected) {
        long next = s.startOffset();
        Map<Long, byte[]> seen = new TreeMap<>();
        while (next < s.nextOffset()) {
            try (FetchResult r = s.fetch(next, Long.MAX_VALUE, 1500).join()) {
                assertThat(r.batches()).isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    byte[] p = new byte[b.sizeBytes()];
                    b.payload().get(p);
                    seen.put(b.baseOffset(), p);
                    assertThat(b.count()).isEqualTo(2);
                }
                next = r.nextOffset(next);
            }
        }
        assertThat(seen.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((offset, p) -> assertThat(seen.get(offset)).as("offset %d", offset).isEqualTo(p));
    }

    private static void assertKeyUnavailable(CompletableFuture<?> future, String tenant) {
        assertThatThrownBy(future::join).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(KeyUnavailableException.class)
                .satisfies(e -> assertThat(((KeyUnavailableException) e.getCause()).tenant()).isEqualTo(tenant));
    }

    /** Every byte of every file under the data directory (the WAL file, every object, manifest and key record). */
    private byte[] allStoredBytes() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        List<Path> files;
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile).sorted().collect(Collectors.toList());
        }
        assertThat(files).anyMatch(f -> f.toString().endsWith("strata.wal"));
        for (Path f : files) {
            all.write(Files.readAllBytes(f));
            all.write(0); // no needle spans two files
        }
        return all.toByteArray();
    }

    /** Whether {@code needle} occurs in {@code haystack} (as Latin-1 text: one char per byte, String's fast search). */
    private static boolean contains(byte[] haystack, byte[] needle) {
        return new String(haystack, StandardCharsets.ISO_8859_1).contains(new String(needle, StandardCharsets.ISO_8859_1));
    }

    /** Distinctive pieces of the payloads: each whole, and substrings of 16 bytes at several positions. */
    private static List<byte[]> needles(List<byte[]> payloads) {
        List<byte[]> out = new ArrayList<>();
        for (byte[] p : payloads) {
            if (p.length < 16) {
                continue;
            }
            out.add(p);
            for (int at : new int[] {0, p.length / 3, p.length / 2, p.length - 16}) {
                out.add(java.util.Arrays.copyOfRange(p, at, at + 16));
            }
        }
        return out;
    }

    @Test
    void encryptedAndPlainStreamsReadBackFromCacheObjectsCompactionRestartAndWalReplay() throws Exception {
        UploadGate storage = storage();
        long acmeId;
        long globexId;
        long plainId;
        Map<Long, byte[]> acmeData;
        Map<Long, byte[]> globexData;
        Map<Long, byte[]> plainData;
        List<byte[]> acmePayloads = payloads("ACME-CONFIDENTIAL", 30);
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream acme = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            Stream globex = store.createStream(StreamOptions.defaults().withTenant("globex")).join();
            Stream plain = store.createStream(StreamOptions.defaults()).join();
            acmeId = acme.id();
            globexId = globex.id();
            plainId = plain.id();
            acmeData = append(acme, acmePayloads);
            globexData = append(globex, payloads("GLOBEX-PLAIN", 30));
            plainData = append(plain, payloads("NO-TENANT", 30));
            // the first encrypted append made the tenant's data key and its record, durably, first
            assertThat(storage.list("keys/tenant=acme/").join()).hasSize(1);
            assertThat(storage.list("keys/tenant=globex/").join()).isEmpty();

            assertReadsBack(acme, acmeData); // tail reads: the LogCache
            assertReadsBack(globex, globexData);
            assertReadsBack(plain, plainData);

            // the largest batch: 40 bytes less for an encrypted stream (the envelope), so its WAL record fits
            int max = StoreFixtures.MAX_BATCH_BYTES;
            assertThatThrownBy(() -> acme.append(RecordBatch.of(1, ByteBuffer.allocate(max - EnvelopeDescriptor.OVERHEAD + 1)))
                    .join()).hasCauseInstanceOf(RecordTooLargeException.class);
            byte[] largest = new byte[max - EnvelopeDescriptor.OVERHEAD];
            java.util.Arrays.fill(largest, (byte) 'L');
            acmeData.putAll(append(acme, List.of(largest)));
            globexData.putAll(append(globex, List.of(new byte[max])));

            // the WAL holds the plain tenants' bytes as they are, and none of acme's
            byte[] wal = Files.readAllBytes(dir.resolve("wal/strata.wal"));
            assertThat(contains(wal, globexData.get(0L))).isTrue();
            assertThat(contains(wal, plainData.get(0L))).isTrue();
            for (byte[] needle : needles(acmePayloads)) {
                assertThat(contains(wal, needle)).as("acme plaintext in the WAL").isFalse();
            }

            store.flush().join();
            assertReadsBack(acme, acmeData);
            store.compact().join();
            assertReadsBack(acme, acmeData);
        }
        // restart: the data is in objects now, read through the block cache with the DEK unwrapped from its record
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream acme = store.openStream(acmeId, 1).join();
            assertReadsBack(acme, acmeData);
            assertReadsBack(store.openStream(globexId, 1).join(), globexData);
            assertReadsBack(store.openStream(plainId, 1).join(), plainData);
            // more appends under a new DEK (one per tenant per open), kept only in the WAL: uploads refused
            storage.refuseUploads = true;
            acmeData.putAll(append(acme, payloads("ACME-AFTER-RESTART", 5)));
            assertThat(storage.list("keys/tenant=acme/").join()).hasSize(2);
            assertReadsBack(acme, acmeData);
        } // the final upload is refused: what was appended stays in the WAL only
        storage.refuseUploads = false;
        try (DurableStreamStore store = encrypted(storage).build()) {
            assertThat(store.recoveryReport().recordsReplayed()).isEqualTo(6);
            assertReadsBack(store.openStream(acmeId, 2).join(), acmeData);
            assertReadsBack(store.openStream(globexId, 2).join(), globexData);
        }
        // without a key provider the encrypted tenant is unreadable (typed), the others read as before
        try (DurableStreamStore store = builder(storage).build()) {
            Stream acme = store.openStream(acmeId, 3).join();
            assertKeyUnavailable(acme.fetch(0, Long.MAX_VALUE, 1 << 20), "acme");
            assertReadsBack(store.openStream(globexId, 3).join(), globexData);
            assertReadsBack(store.openStream(plainId, 3).join(), plainData);
            assertThatThrownBy(() -> store.destroyTenantKey("acme")).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void destroyedTenantLeavesNoPlaintextInAnyFileAndOnlyItsFetchesFail() throws Exception {
        UploadGate storage = storage();
        List<byte[]> acmeUploaded = payloads("ACME-SHRED-ME-UPLOADED", 25);
        List<byte[]> acmeWalOnly = payloads("ACME-SHRED-ME-WAL-ONLY", 25);
        List<byte[]> globexPayloads = payloads("GLOBEX-KEEP-ME", 25);
        long acmeId;
        long globexId;
        long acmeOther;
        Map<Long, byte[]> globexData;
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream acme = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            Stream acme2 = store.createStream(StreamOptions.defaults().withTenant("acme").withTag("line", "2")).join();
            Stream globex = store.createStream(StreamOptions.defaults().withTenant("globex")).join();
            acmeId = acme.id();
            acmeOther = acme2.id();
            globexId = globex.id();
            append(acme, acmeUploaded);
            append(acme2, acmeUploaded.subList(0, 5));
            globexData = append(globex, globexPayloads);
            store.flush().join(); // into a stream-set object
            store.compact().join(); // and split into stream objects
            storage.refuseUploads = true;
            append(acme, acmeWalOnly); // only in the WAL (and the LogCache)
            globexData.putAll(append(globex, payloads("GLOBEX-KEEP-ME-TOO", 5)));

            AuditActor.call("ops:alice", () -> {
                store.destroyTenantKey("acme");
                return null;
            });
            AuditEvent destroyed = events.stream().filter(e -> e.type() == AuditEvent.Type.KEY_DESTROYED).findFirst()
                    .orElseThrow();
            assertThat(destroyed.tenant()).contains("acme");
            assertThat(destroyed.actor()).contains("ops:alice");
            assertThat(destroyed.details()).containsEntry("keyRecordsDeleted", "1");
            assertThat(provider.isDestroyed("acme")).isTrue();
            assertThat(storage.list("keys/tenant=acme/").join()).extracting(ObjectInfo::key)
                    .containsExactly("keys/tenant=acme/destroyed");

            // at once: tail reads (LogCache), catch-up reads (objects) and appends of the tenant fail, typed
            assertKeyUnavailable(acme.fetch(acme.nextOffset() - 2, Long.MAX_VALUE, 1 << 20), "acme");
            assertKeyUnavailable(acme.fetch(0, Long.MAX_VALUE, 1 << 20), "acme");
            assertKeyUnavailable(acme2.fetch(0, Long.MAX_VALUE, 1 << 20), "acme");
            assertKeyUnavailable(acme.append(RecordBatch.of(1, ByteBuffer.wrap(text("more")))), "acme");
            assertReadsBack(globex, globexData);
            store.destroyTenantKey("acme"); // idempotent
        } // close: the final upload is refused, so acme's last batches stay in the WAL only

        byte[] stored = allStoredBytes();
        for (byte[] needle : needles(acmeUploaded)) {
            assertThat(contains(stored, needle)).as("acme plaintext (uploaded) in a file: %s",
                    new String(needle, StandardCharsets.US_ASCII)).isFalse();
        }
        for (byte[] needle : needles(acmeWalOnly)) {
            assertThat(contains(stored, needle)).as("acme plaintext (WAL only) in a file: %s",
                    new String(needle, StandardCharsets.US_ASCII)).isFalse();
        }
        // the scan does find plaintext where there is some: the plain tenant's, in the WAL and objects
        assertThat(contains(stored, globexPayloads.get(3))).isTrue();
        assertThat(contains(Files.readAllBytes(dir.resolve("wal/strata.wal")), globexData.get(globexData.size() * 2L - 4)))
                .isTrue();

        storage.refuseUploads = false;
        try (DurableStreamStore store = encrypted(storage).build()) {
            assertThat(store.recoveryReport().recordsReplayed()).isGreaterThanOrEqualTo(acmeWalOnly.size());
            Stream acme = store.openStream(acmeId, 1).join();
            assertKeyUnavailable(acme.fetch(0, Long.MAX_VALUE, 1 << 20), "acme"); // from objects
            assertKeyUnavailable(acme.fetch(acme.nextOffset() - 2, Long.MAX_VALUE, 1 << 20), "acme"); // replayed WAL
            assertKeyUnavailable(store.openStream(acmeOther, 1).join().fetch(0, Long.MAX_VALUE, 1 << 20), "acme");
            assertKeyUnavailable(acme.append(RecordBatch.of(1, ByteBuffer.wrap(text("more")))), "acme");
            assertReadsBack(store.openStream(globexId, 1).join(), globexData);
            Stream globex2 = store.createStream(StreamOptions.defaults().withTenant("beta")).join();
            Map<Long, byte[]> beta = append(globex2, payloads("BETA", 3));
            assertReadsBack(globex2, beta);
        }
    }

    @Test
    void flippedBitInAnEncryptedObjectFailsAsCorruptNeverAsData() throws Exception {
        UploadGate storage = storage();
        long acmeId;
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream acme = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            acmeId = acme.id();
            append(acme, payloads("ACME-TAMPER", 10));
            store.flush().join();
        }
        Path object;
        try (java.util.stream.Stream<Path> walk = Files.walk(dir.resolve("objects"))) {
            object = walk.filter(Files::isRegularFile)
                    .filter(p -> dev.strata.objectstore.ObjectKeys.parseObjectId(
                            dir.resolve("objects").relativize(p).toString().replace('\\', '/')) >= 0)
                    .findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(object);
        bytes[200] ^= 0x10; // inside the first block's batches
        Files.write(object, bytes);
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream acme = store.openStream(acmeId, 1).join();
            assertThatThrownBy(() -> acme.fetch(0, Long.MAX_VALUE, 1 << 20).join())
                    .hasCauseInstanceOf(CorruptDataException.class);
        }
    }

    @Test
    void concurrentEncryptedAppendersReadBackEveryBatch() throws Exception {
        UploadGate storage = storage();
        try (DurableStreamStore store = encrypted(storage).build()) {
            List<Stream> streams = new ArrayList<>();
            for (String tenant : List.of("acme", "acme", "initech", "globex")) {
                streams.add(store.createStream(StreamOptions.defaults().withTenant(tenant)).join());
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Map<Long, byte[]>>> written = new ArrayList<>();
                for (Stream s : streams) {
                    written.add(pool.submit(() -> append(s, payloads("T" + s.id(), 150))));
                }
                for (int i = 0; i < streams.size(); i++) {
                    assertReadsBack(streams.get(i), written.get(i).get());
                }
                store.flush().join();
                for (int i = 0; i < streams.size(); i++) {
                    assertReadsBack(streams.get(i), written.get(i).get());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }


    @Test
    void aDataKeyIsDurableBeforeTheFirstBatchUnderItAndProviderFailuresAreTyped() throws Exception {
        UploadGate storage = storage();
        java.util.concurrent.atomic.AtomicReference<RuntimeException> providerFailure = new java.util.concurrent.atomic.AtomicReference<>();
        dev.strata.core.crypto.KeyProvider flaky = new dev.strata.core.crypto.KeyProvider() {
            @Override
            public dev.strata.core.crypto.WrappedKey wrap(String tenant, byte[] dataKey) {
                RuntimeException e = providerFailure.get();
                if (e != null) {
                    throw e;
                }
                return provider.wrap(tenant, dataKey);
            }

            @Override
            public byte[] unwrap(String tenant, dev.strata.core.crypto.WrappedKey wrapped) {
                return provider.unwrap(tenant, wrapped);
            }

            @Override
            public void destroy(String tenant) {
                provider.destroy(tenant);
            }
        };
        try (DurableStreamStore store = builder(storage).encryption(flaky).build()) {
            Stream acme = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            RecordBatch batch = RecordBatch.of(2, ByteBuffer.wrap(text("first")));

            // the key record cannot be written: the append fails before the WAL, taking no offset
            storage.refuseKeyRecords = true;
            assertThatThrownBy(() -> acme.append(batch).join()).hasCauseInstanceOf(StorageException.class);
            assertThat(acme.nextOffset()).isZero();
            storage.refuseKeyRecords = false;

            // a KMS outage: a retriable StorageException passes through; anything else is a KeyUnavailableException
            providerFailure.set(new StorageException("KMS throttled", true));
            assertThatThrownBy(() -> acme.append(batch).join()).hasCauseInstanceOf(StorageException.class)
                    .satisfies(e -> assertThat(((StorageException) e.getCause()).isRetriable()).isTrue());
            providerFailure.set(new IllegalStateException("KMS client bug"));
            assertKeyUnavailable(acme.append(batch), "acme");
            assertThat(storage.list("keys/").join()).isEmpty();
            providerFailure.set(null);

            assertThat(acme.append(batch).join().baseOffset()).isZero();
            assertThat(storage.list("keys/tenant=acme/").join()).hasSize(1);
            assertReadsBack(acme, Map.of(0L, text("first")));
        }
    }

    /** Passes everything through, but while {@link #refuseUploads} fails every data-object upload (retriable). */
    static final class UploadGate extends ForwardingObjectStorage {
        volatile boolean refuseUploads;
        volatile boolean refuseKeyRecords;

        UploadGate(ObjectStorage delegate) {
            super(delegate);
        }

        private static StorageException refused(String key) {
            return new StorageException("upload refused by the test: key=" + key, true);
        }

        @Override
        public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
            if ((refuseUploads && dev.strata.objectstore.ObjectKeys.parseObjectId(key) >= 0)
                    || (refuseKeyRecords && key.startsWith("keys/"))) {
                data.release();
                return CompletableFuture.failedFuture(refused(key));
            }
            return super.put(key, data, condition);
        }

        @Override
        public ObjectUpload startUpload(String key, PutCondition condition) {
            if (!refuseUploads) {
                return super.startUpload(key, condition);
            }
            return new ObjectUpload() {
                @Override
                public String key() {
                    return key;
                }

                @Override
                public CompletableFuture<Void> write(ByteBuf data) {
                    data.release();
                    return CompletableFuture.failedFuture(refused(key));
                }

                @Override
                public long bytesWritten() {
                    return 0;
                }

                @Override
                public CompletableFuture<ObjectInfo> complete() {
                    return CompletableFuture.failedFuture(refused(key));
                }

                @Override
                public CompletableFuture<Void> abort() {
                    return CompletableFuture.completedFuture(null);
                }
            };
        }
    }
}
