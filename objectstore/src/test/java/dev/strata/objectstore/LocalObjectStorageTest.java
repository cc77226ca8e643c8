package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The storage contract on a local directory, plus what is specific to files. */
class LocalObjectStorageTest extends ObjectStorageContractTest {

    @TempDir
    static Path dir;
    static LocalObjectStorage storage;

    @BeforeAll
    static void open() {
        storage = LocalObjectStorage.open(dir.resolve("objects"));
    }

    @AfterAll
    static void close() {
        storage.close();
    }

    @Override
    protected ObjectStorage storage() {
        return storage;
    }

    @Override
    protected boolean usesMultipart() {
        return false;
    }

    @Test
    void closeWaitsForTheWritesItHadAcceptedSoNoFileAppearsAfterIt() throws IOException {
        Path root = dir.resolve("closing");
        LocalObjectStorage closing = LocalObjectStorage.open(root);
        java.util.List<java.util.concurrent.CompletableFuture<?>> puts = new java.util.ArrayList<>();
        for (int i = 0; i < 64; i++) {
            puts.add(closing.put("k/" + i, io.netty.buffer.Unpooled.wrappedBuffer(new byte[256 << 10])));
        }

        closing.close();

        assertThat(puts).allSatisfy(f -> assertThat(f).isDone());
        long files;
        try (var walk = Files.walk(root)) {
            files = walk.filter(Files::isRegularFile).count();
        }
        assertThat(puts.stream().filter(f -> !f.isCompletedExceptionally()).count()).isEqualTo(files);
        assertThatThrownBy(() -> closing.put("k/late", bytes("x")).join()).hasMessageContaining("closed");
    }

    @Test
    void uploadsUseDirectIoWhereTheFileSystemHasIt() throws IOException {
        String type = Files.getFileStore(dir).type();
        org.junit.jupiter.api.Assumptions.assumeTrue(type.equals("ext4") || type.equals("xfs"),
                "a file system known to support O_DIRECT, found " + type);
        assertThat(storage.directWrites()).isTrue();
        // and the probe left nothing behind
        try (var s = Files.list(dir.resolve("objects"))) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(LocalObjectStorage.TEMP_PREFIX));
        }
    }

    /**
     * GETs of 256 KiB or more read with O_DIRECT (where uploads do) the enclosing aligned range and
     * return a slice: every range, at any offset and length, up to and past the end of the file, and
     * as a suffix, reads exactly its bytes; smaller GETs (buffered) too.
     */
    @Test
    void getsOfAnyRangeOfALargeObjectReadExactlyItsBytes() {
        byte[] content = new byte[(3 << 20) + 1234];
        java.util.Random random = new java.util.Random(23);
        random.nextBytes(content);
        storage.put("direct/large", io.netty.buffer.Unpooled.wrappedBuffer(content)).join();
        int size = content.length;
        java.util.List<long[]> ranges = new java.util.ArrayList<>();
        ranges.add(new long[] {0, size});
        ranges.add(new long[] {0, LocalObjectStorage.DIRECT_READ_MIN_BYTES});
        ranges.add(new long[] {1, LocalObjectStorage.DIRECT_READ_MIN_BYTES});
        ranges.add(new long[] {4095, (1 << 20) + 2});
        ranges.add(new long[] {size - (300 << 10), 300 << 10}); // to the end
        ranges.add(new long[] {size - (300 << 10) + 1, 1 << 20}); // past the end: clipped
        ranges.add(new long[] {size - 10, 10});
        for (int i = 0; i < 40; i++) {
            long pos = random.nextInt(size);
            long len = 1 + (i % 2 == 0 ? random.nextInt(2 << 20) : random.nextInt(LocalObjectStorage.DIRECT_READ_MIN_BYTES));
            ranges.add(new long[] {pos, len});
        }
        for (long[] r : ranges) {
            ObjectData data = storage.get("direct/large", ByteRange.of(r[0], r[1])).join();
            try {
                int expectedLength = (int) Math.min(r[1], size - r[0]);
                assertThat(data.content().readableBytes()).as("range %d+%d", r[0], r[1]).isEqualTo(expectedLength);
                assertThat(io.netty.buffer.ByteBufUtil.getBytes(data.content())).as("range %d+%d", r[0], r[1])
                        .isEqualTo(java.util.Arrays.copyOfRange(content, (int) r[0], (int) r[0] + expectedLength));
            } finally {
                data.release();
            }
        }
        ObjectData suffix = storage.get("direct/large", ByteRange.suffix((1 << 20) + 3)).join();
        try {
            assertThat(io.netty.buffer.ByteBufUtil.getBytes(suffix.content()))
                    .isEqualTo(java.util.Arrays.copyOfRange(content, size - (1 << 20) - 3, size));
        } finally {
            suffix.release();
        }
    }

    @Test
    void streamedUploadOfUnevenPiecesHasTheEtagOfItsFile() {
        java.util.Random random = new java.util.Random(11);
        byte[][] pieces = {new byte[(1 << 20) + 7], new byte[5], new byte[(2 << 20) + 4093], new byte[4096]};
        ObjectUpload up = storage.startUpload("streamed/uneven", PutCondition.none());
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (byte[] p : pieces) {
            random.nextBytes(p);
            all.writeBytes(p);
            io.netty.buffer.ByteBuf direct = io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(p.length).writeBytes(p);
            up.write(direct);
        }
        ObjectInfo info = up.complete().join();
        assertThat(info.size()).isEqualTo(all.size());
        try (LocalObjectStorage again = LocalObjectStorage.open(dir.resolve("objects"))) {
            // head recomputes the ETag by reading the file: it matches the one computed while writing
            assertThat(again.head("streamed/uneven").join().etag()).isEqualTo(info.etag());
            ObjectData data = again.get("streamed/uneven", ByteRange.all()).join();
            try {
                assertThat(io.netty.buffer.ByteBufUtil.getBytes(data.content())).isEqualTo(all.toByteArray());
            } finally {
                data.release();
            }
        }
    }

    @Test
    void objectIsAFileUnderTheRootAndNoTemporaryFileRemains() throws IOException {
        storage.put("files/x/y", bytes("content")).join();
        Path file = dir.resolve("objects/files/x/y");
        assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo("content");
        try (var s = Files.list(file.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("y");
        }
    }

    @Test
    void heapContentLargerThanTheStagingBufferIsWrittenExactly() throws IOException {
        byte[] first = new byte[(600 << 10) + 3];
        byte[] second = new byte[(300 << 10) + 5];
        new java.util.Random(7).nextBytes(first);
        new java.util.Random(8).nextBytes(second);
        // two heap components plus a direct one: written through the pooled staging buffer, in order
        io.netty.buffer.ByteBuf direct = io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(10).writeBytes(new byte[] {1, 2, 3});
        storage.put("heap/big", io.netty.buffer.Unpooled.wrappedBuffer(io.netty.buffer.Unpooled.wrappedBuffer(first),
                io.netty.buffer.Unpooled.wrappedBuffer(second), direct)).join();
        byte[] expected = new byte[first.length + second.length + 3];
        System.arraycopy(first, 0, expected, 0, first.length);
        System.arraycopy(second, 0, expected, first.length, second.length);
        expected[expected.length - 3] = 1;
        expected[expected.length - 2] = 2;
        expected[expected.length - 1] = 3;
        assertThat(Files.readAllBytes(dir.resolve("objects/heap/big"))).isEqualTo(expected);
        assertThat(storage.head("heap/big").join().size()).isEqualTo(expected.length);
    }

    @Test
    void keysThatWouldEscapeTheRootOrHitTemporaryFilesAreRejected() {
        assertThatThrownBy(() -> storage.head("../outside")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.head("a/" + LocalObjectStorage.TEMP_PREFIX + "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.list("../")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void leftoverTemporaryFilesAreNotListedAndCanBeSwept() throws IOException {
        Path temp = dir.resolve("objects/sweep/" + LocalObjectStorage.TEMP_PREFIX + "crashed");
        Files.createDirectories(temp.getParent());
        Files.writeString(temp, "partial");
        storage.put("sweep/real", bytes("r")).join();
        assertThat(storage.list("sweep/").join()).extracting(ObjectInfo::key).containsExactly("sweep/real");
        storage.deleteTemporaryFiles();
        assertThat(Files.exists(temp)).isFalse();
    }

    @Test
    void etagSurvivesReopenBecauseItIsTheContentDigest() {
        ObjectInfo put = storage.put("reopen/k", bytes("stable")).join();
        try (LocalObjectStorage again = LocalObjectStorage.open(dir.resolve("objects"))) {
            assertThat(again.head("reopen/k").join().etag()).isEqualTo(put.etag());
            again.put("reopen/k", bytes("next"), PutCondition.ifMatch(put.etag())).join();
        }
    }

    /** The ETag is a CRC pair plus the length, not MD5: it must still change whenever the content does. */
    @Test
    void etagChangesWithEveryChangeOfContentOrLength() {
        byte[] content = new byte[100_000];
        new java.util.Random(5).nextBytes(content);
        java.util.Set<String> seen = new java.util.HashSet<>();
        String first = storage.put("etag/k", io.netty.buffer.Unpooled.wrappedBuffer(content.clone())).join().etag();
        seen.add(first);
        java.util.Random random = new java.util.Random(6);
        for (int i = 0; i < 100; i++) {
            byte[] changed = content.clone();
            int at = random.nextInt(changed.length - 8);
            for (int k = 0; k < 1 + random.nextInt(8); k++) { // up to 8 consecutive bytes
                changed[at + k] ^= (byte) (1 + random.nextInt(255));
            }
            assertThat(seen.add(storage.put("etag/k", io.netty.buffer.Unpooled.wrappedBuffer(changed)).join().etag()))
                    .as("change %d at %d", i, at).isTrue();
        }
        byte[] longer = java.util.Arrays.copyOf(content, content.length + 1); // one more zero byte
        assertThat(seen.add(storage.put("etag/k", io.netty.buffer.Unpooled.wrappedBuffer(longer)).join().etag())).isTrue();
        // equal content, equal ETag (what lets it survive a restart), also when written in parts
        ObjectUpload parts = storage.startUpload("etag/parts", PutCondition.none());
        parts.write(io.netty.buffer.Unpooled.wrappedBuffer(content, 0, 12_345));
        parts.write(io.netty.buffer.Unpooled.wrappedBuffer(content, 12_345, content.length - 12_345));
        assertThat(parts.complete().join().etag()).isEqualTo(first);
    }

    @Test
    void aLosingConditionalWriteLeavesNoTemporaryFile() throws IOException {
        storage.put("cond/k", bytes("first")).join();
        ObjectUpload up = storage.startUpload("cond/k", PutCondition.ifAbsent());
        up.write(bytes("second")).join();
        assertThat(failure(up.complete())).isInstanceOf(PreconditionFailedException.class);
        try (var s = Files.list(dir.resolve("objects/cond"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("k");
        }
        assertThat(Files.readString(dir.resolve("objects/cond/k"))).isEqualTo("first");
    }

    @Test
    void metricsSummaryNamesOperationsWithRequests() {
        assertThat(new ObjectStorageMetrics().toString()).isEqualTo("no requests");
        ObjectStorageMetrics m = new ObjectStorageMetrics();
        m.record(Operation.GET, 100, 2_000_000, null);
        m.record(Operation.GET, 0, 1_000_000, ObjectStorageException.Kind.THROTTLED);
        assertThat(m.toString()).startsWith("GET[requests=2 bytes=100 errors=1 throttles=1 p50=").doesNotContain("PUT");
    }

    @Test
    void aKeyThatIsAlsoAnotherKeysDirectoryIsNotFoundOrAPermanentConflict() {
        storage.put("dir/a/b", bytes("x")).join();
        assertThat(failure(storage.get("dir/a", ByteRange.all()))).isInstanceOf(ObjectNotFoundException.class);
        assertThat(failure(storage.head("dir/a"))).isInstanceOf(ObjectNotFoundException.class);
        Throwable e = failure(storage.put("dir/a", bytes("y")));
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(ObjectStorageException.Kind.PERMANENT);
        Throwable under = failure(storage.put("dir/a/b/c", bytes("z")));
        assertThat(((ObjectStorageException) under).kind()).isEqualTo(ObjectStorageException.Kind.PERMANENT);
    }
}
