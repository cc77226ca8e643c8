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
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.format.DataBlockDescriptor;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.format.StreamBatchDescriptor;
import dev.strata.objectstore.testing.RefusedObjectUpload;
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

    /** The data objects (no key records, no manifest) under {@code dir/objects}. */
    private List<Path> dataObjects() throws IOException {
        try (java.util.stream.Stream<Path> walk = Files.walk(dir.resolve("objects"))) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> dev.strata.objectstore.ObjectKeys.parseObjectId(
                            dir.resolve("objects").relativize(p).toString().replace('\\', '/')) >= 0)
                    .sorted().toList();
        }
    }

    /**
     * What someone who can rewrite stored bytes can do: clears the encrypted bit (attribute bit 0) of
     * the first encrypted batch in the data objects and recomputes the batch's CRC and its block's,
     * so that nothing but the stream's metadata tells the batch was encrypted. Returns its base offset.
     */
    private long clearEncryptedBitOfFirstEncryptedBatch() throws IOException {
        for (Path object : dataObjects()) {
            byte[] bytes = Files.readAllBytes(object);
            ByteBuf buf = io.netty.buffer.Unpooled.wrappedBuffer(bytes);
            int block = 0;
            while (block + DataBlockDescriptor.HEADER_SIZE <= bytes.length && buf.getInt(block) == DataBlockDescriptor.MAGIC) {
                int stored = buf.getInt(block + DataBlockDescriptor.STORED_LENGTH_OFFSET);
                int data = block + DataBlockDescriptor.HEADER_SIZE;
                if (buf.getByte(block + DataBlockDescriptor.CODEC_OFFSET) == 0) { // ciphertext does not compress
                    for (int batch = data; batch < data + stored; ) {
                        int size = StreamBatchDescriptor.HEADER_SIZE + buf.getInt(batch + StreamBatchDescriptor.LENGTH_OFFSET);
                        byte attributes = buf.getByte(batch + StreamBatchDescriptor.ATTRIBUTES_OFFSET);
                        if ((attributes & StreamBatchDescriptor.ATTR_ENCRYPTED) != 0) {
                            buf.setByte(batch + StreamBatchDescriptor.ATTRIBUTES_OFFSET, attributes & ~StreamBatchDescriptor.ATTR_ENCRYPTED);
                            StreamBatchCodec.finishChecksum(buf.slice(batch, size));
                            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                            crc.update(bytes, block, DataBlockDescriptor.CRC_OFFSET);
                            crc.update(bytes, data, stored);
                            buf.setInt(block + DataBlockDescriptor.CRC_OFFSET, (int) crc.getValue());
                            Files.write(object, bytes);
                            return buf.getLong(batch + StreamBatchDescriptor.BASE_OFFSET_OFFSET);
                        }
                        batch += size;
                    }
                }
                block = data + stored;
            }
        }
        throw new AssertionError("no encrypted batch in an uncompressed block of " + dataObjects());
    }

    private static void assertRefusedAsPlainWhereEncrypted(Stream s, long offset) {
        assertThatThrownBy(() -> s.fetch(offset, Long.MAX_VALUE, 1 << 20).join())
                .hasCauseInstanceOf(CorruptDataException.class)
                .hasMessageContaining("unencrypted batch where its stream is encrypted");
    }

    @Test
    void aBatchWhoseEncryptedBitWasClearedIsRefusedAsCorruptNeverReturnedAsData() throws Exception {
        UploadGate storage = storage();
        long acmeId;
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream acme = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            acmeId = acme.id();
            append(acme, payloads("ACME-BIT", 5));
            store.flush().join();
        }
        assertThat(clearEncryptedBitOfFirstEncryptedBatch()).isZero();
        try (DurableStreamStore store = encrypted(storage).build()) {
            assertRefusedAsPlainWhereEncrypted(store.openStream(acmeId, 1).join(), 0);
        }
        // a store without a key provider refuses it too: the stream's metadata says it is encrypted
        try (DurableStreamStore store = builder(storage).build()) {
            Stream acme = store.openStream(acmeId, 2).join();
            assertRefusedAsPlainWhereEncrypted(acme, 0);
            assertKeyUnavailable(acme.append(RecordBatch.of(1, ByteBuffer.wrap(text("plain?")))), "acme");
        }
    }

    @Test
    void aStreamCreatedBeforeEncryptionIsEncryptedFromWhereAnEncryptingStoreFirstOpenedIt() throws Exception {
        UploadGate storage = storage();
        long id;
        long encryptedFrom;
        Map<Long, byte[]> all = new TreeMap<>();
        try (DurableStreamStore store = builder(storage).build()) { // before encryption was enabled
            Stream legacy = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            id = legacy.id();
            all.putAll(append(legacy, payloads("LEGACY", 3)));
            encryptedFrom = legacy.nextOffset();
        }
        int legacyBatches = all.size();
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream s = store.openStream(id, 1).join();
            all.putAll(append(s, payloads("NEWER", 3)));
            assertReadsBack(s, all); // the plain batches below stay readable
            store.flush().join();
        }
        try (DurableStreamStore store = encrypted(storage).build()) {
            assertReadsBack(store.openStream(id, 2).join(), all);
        }
        assertThat(clearEncryptedBitOfFirstEncryptedBatch()).isEqualTo(encryptedFrom);
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream s = store.openStream(id, 3).join();
            try (FetchResult plain = s.fetch(0, encryptedFrom, 1 << 20).join()) {
                assertThat(plain.batches()).as("the legacy batches").hasSize(legacyBatches);
            }
            assertRefusedAsPlainWhereEncrypted(s, encryptedFrom);
        }
    }

    /** The DEK ids of {@code tenant}'s key records in the object store (no tombstone). */
    private static List<String> keyRecords(ObjectStorage storage, String tenant) {
        return storage.list("keys/tenant=" + tenant + "/").join().stream().map(ObjectInfo::key)
                .filter(k -> !k.endsWith("/destroyed")).sorted().toList();
    }

    @Test
    void keyRecordsWhoseDataWasAllTrimmedAwayAreDeletedByGarbageCollectionWithAnAuditEvent() throws Exception {
        UploadGate storage = storage();
        long id;
        long firstEnd;
        try (DurableStreamStore store = encrypted(storage).garbageGracePeriod(Duration.ZERO).build()) {
            Stream s = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            id = s.id();
            append(s, payloads("FIRST", 3));
            firstEnd = s.nextOffset();
            store.flush().join();
        }
        List<String> first = keyRecords(storage, "acme");
        assertThat(first).as("the first process's data key").hasSize(1);
        Map<Long, byte[]> second;
        try (DurableStreamStore store = encrypted(storage).garbageGracePeriod(Duration.ZERO).build()) {
            Stream s = store.openStream(id, 1).join();
            second = append(s, payloads("SECOND", 3));
            store.flush().join();
            assertThat(keyRecords(storage, "acme")).hasSize(2).containsAll(first);

            s.trim(firstEnd).join(); // every batch under the first data key is gone
            events.clear();
            store.compact().join(); // drops the object of trimmed data, deletes it (no grace), then the key record
            List<String> left = keyRecords(storage, "acme");
            assertThat(left).as("only the second data key, which protects live data").hasSize(1).doesNotContainAnyElementsOf(first);
            assertThat(events).filteredOn(e -> e.type() == AuditEvent.Type.KEY_RECORDS_DELETED).singleElement()
                    .satisfies(e -> {
                        assertThat(e.tenant()).contains("acme");
                        assertThat(e.details()).containsEntry("deleted", "1");
                        assertThat(first.get(0)).endsWith(e.details().get("dataKeyIds"));
                    });
            assertReadsBack(s, second);
        }
        try (DurableStreamStore store = encrypted(storage).garbageGracePeriod(Duration.ZERO).build()) {
            Stream s = store.openStream(id, 2).join();
            store.compact().join(); // a process that did not make the second key keeps it: an object names it
            assertThat(keyRecords(storage, "acme")).hasSize(1);
            assertReadsBack(s, second);
        }
    }

    @Test
    void rewrappingATenantsKeysUnderARotatedMasterKeyLetsTheOldVersionBeRetired() throws Exception {
        UploadGate storage = storage();
        long id;
        Map<Long, byte[]> data;
        try (DurableStreamStore store = encrypted(storage).build()) {
            Stream s = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            id = s.id();
            data = append(s, payloads("ROTATE", 4));
            store.flush().join();
        }
        assertThat(provider.rotateMasterKey("acme")).isEqualTo(2);
        try (DurableStreamStore store = encrypted(storage).build()) {
            events.clear();
            int rewrapped = AuditActor.call("ops:alice", () -> store.rewrapTenantKeys("acme"));
            assertThat(rewrapped).isEqualTo(keyRecords(storage, "acme").size()).isPositive();
            assertThat(events).filteredOn(e -> e.type() == AuditEvent.Type.KEY_REWRAPPED).singleElement()
                    .satisfies(e -> {
                        assertThat(e.actor()).contains("ops:alice");
                        assertThat(e.details()).containsEntry("rewrapped", Integer.toString(rewrapped));
                    });
            assertThat(store.rewrapTenantKeys("globex")).as("no records, nothing to do").isZero();
        }
        for (String key : keyRecords(storage, "acme")) {
            ObjectData record = storage.get(key, dev.strata.objectstore.ByteRange.all()).join();
            try {
                assertThat(dev.strata.core.crypto.KeyRecordDescriptor.decode(record.content(), key).wrapped().masterKeyId())
                        .isEqualTo("inmemory:acme:2");
            } finally {
                record.release();
            }
        }
        provider.retireOlderVersions("acme"); // version 1 is gone: only the re-wrapped records unwrap
        try (DurableStreamStore store = encrypted(storage).build()) { // a new store: no data key cached
            assertReadsBack(store.openStream(id, 1).join(), data);
        }
    }

    /**
     * The store with its WAL in the object store as well (no local disk): WAL objects under
     * {@code wal/}, flushed every 5 ms, uploads only when asked. The data-object uploads of
     * {@code storage} can be refused, which leaves appended data in the WAL objects only.
     */
    private Strata.Builder disklessEncrypted(ObjectStorage storage) {
        return Strata.builder().objectStorage(storage)
                .walOnObjectStore(dev.strata.wal.objectstore.ObjectWalOptions.builder("")
                        .flushIntervalNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(5))
                        .capacityBytes(64L << 20).maxBufferedBytes(16L << 20).build())
                .walCapacity(64L << 20).logCacheBytes(32L << 20).uploadThresholdBytes(16L << 20)
                .uploadInterval(Duration.ofHours(1)).maxBatchBytes(64 * 1024).objectBlockBytes(32 * 1024)
                .compactionInterval(Duration.ZERO).closeUploadTimeout(Duration.ofMillis(300)).auditListener(events::add)
                .encryption(provider, tenant -> !tenant.equals("globex"));
    }

    /** Every file under {@code dir} (no local WAL file here), and the WAL objects' alone: [all, wal]. */
    private byte[][] scanObjects() throws IOException {
        List<Path> files;
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        assertThat(files).as("no local WAL file: the WAL is in the object store").noneMatch(f -> f.toString().endsWith("strata.wal"));
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteArrayOutputStream wal = new ByteArrayOutputStream();
        for (Path f : files) {
            byte[] bytes = Files.readAllBytes(f);
            all.write(bytes);
            all.write(0); // no needle spans two files
            if (dir.resolve("objects").relativize(f).toString().replace('\\', '/').startsWith("wal/")) {
                wal.write(bytes);
                wal.write(0);
            }
        }
        return new byte[][] {all.toByteArray(), wal.toByteArray()};
    }

    @SafeVarargs
    private static void assertNoPlaintext(byte[] stored, List<byte[]>... payloads) {
        for (List<byte[]> list : payloads) {
            for (byte[] needle : needles(list)) {
                assertThat(contains(stored, needle)).as("acme plaintext in a file: %s",
                        new String(needle, StandardCharsets.US_ASCII)).isFalse();
            }
        }
    }

    @Test
    void withTheWalInTheObjectStoreADestroyedTenantLeavesNoPlaintextInAnyObjectWalIncluded() throws Exception {
        UploadGate storage = storage();
        List<byte[]> acmeUploaded = payloads("ACME-OBJWAL-UPLOADED", 20);
        List<byte[]> acmeWalOnly = payloads("ACME-OBJWAL-WALONLY", 20);
        List<byte[]> globexWalOnly = payloads("GLOBEX-KEEP-OWAL-TAIL", 20);
        long acmeId;
        long globexId;
        Map<Long, byte[]> globexData;
        Map<Long, byte[]> acmeData;
        try (DurableStreamStore store = disklessEncrypted(storage).build()) {
            Stream acme = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            Stream globex = store.createStream(StreamOptions.defaults().withTenant("globex")).join();
            acmeId = acme.id();
            globexId = globex.id();
            acmeData = append(acme, acmeUploaded);
            globexData = append(globex, payloads("GLOBEX-KEEP-OWAL-HEAD", 5));
            store.flush().join();
            storage.refuseUploads = true; // from here on the WAL objects are the only durable copy
            acmeData.putAll(append(acme, acmeWalOnly));
            globexData.putAll(append(globex, globexWalOnly));
            assertReadsBack(acme, acmeData);
        } // close: the final upload is refused, so the last batches stay in the WAL objects

        // every byte stored, WAL objects included: none of acme's plaintext, whole or in pieces, while
        // the plain tenant's last batches are found in the WAL objects (so the scan reads them)
        byte[][] scanned = scanObjects();
        assertNoPlaintext(scanned[0], acmeUploaded, acmeWalOnly);
        assertThat(scanned[1].length).as("WAL objects exist").isPositive();
        assertThat(contains(scanned[1], globexWalOnly.get(3))).as("the plain tenant's bytes in the WAL objects").isTrue();

        storage.refuseUploads = false;
        try (DurableStreamStore store = disklessEncrypted(storage).build()) { // a takeover replays the WAL objects
            assertThat(store.recoveryReport().recordsReplayed()).isGreaterThanOrEqualTo(acmeWalOnly.size() + globexWalOnly.size());
            assertReadsBack(store.openStream(acmeId, 1).join(), acmeData);
            store.destroyTenantKey("acme");
            assertKeyUnavailable(store.openStream(acmeId, 2).join().fetch(0, Long.MAX_VALUE, 1 << 20), "acme");
            assertReadsBack(store.openStream(globexId, 1).join(), globexData);
        }
        assertNoPlaintext(scanObjects()[0], acmeUploaded, acmeWalOnly);
        assertThat(storage.list("keys/tenant=acme/").join()).extracting(ObjectInfo::key)
                .containsExactly("keys/tenant=acme/destroyed");

        try (DurableStreamStore store = disklessEncrypted(storage).build()) {
            assertKeyUnavailable(store.openStream(acmeId, 3).join().fetch(0, Long.MAX_VALUE, 1 << 20), "acme");
            assertReadsBack(store.openStream(globexId, 2).join(), globexData);
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
            return new RefusedObjectUpload(key, () -> refused(key));
        }
    }
}
