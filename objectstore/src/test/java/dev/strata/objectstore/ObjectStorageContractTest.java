package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The behaviour every {@link ObjectStorage} must have, as an abstract test suite (the ObjectStorage
 * contract kit, in this module's test-jar); run here against {@link LocalObjectStorage}, the buffered
 * local storage, the in-memory double and S3ObjectStorage on a real S3-compatible server over HTTP.
 * Each test uses its own key prefix, so one storage instance serves the whole class. An implementation
 * elsewhere runs it by extending this class:
 *
 * <pre>{@code
 * class MyStorageContractTest extends ObjectStorageContractTest {
 *     protected ObjectStorage storage() { return sharedStorage; }
 *     protected boolean usesMultipart() { return true; }
 * }
 * }</pre>
 */
public abstract class ObjectStorageContractTest {

    /** Part size the S3 subclass configures; multipart tests write a bit more than two parts. */
    protected static final int PART_SIZE = 5 * 1024 * 1024;

    /** The storage under test; the same instance for the whole class. */
    protected abstract ObjectStorage storage();

    /** Whether the backend splits large streaming uploads into multipart parts. */
    protected abstract boolean usesMultipart();

    /**
     * Whether the backend applies If-Match atomically. True for AWS S3 and LocalObjectStorage; the
     * S3Proxy test server checks If-Match and then writes, without a lock, so two racing replaces can
     * both win there (its If-None-Match uses link(2) and is atomic).
     */
    protected boolean atomicIfMatch() {
        return true;
    }

    /** Whether the backend records request latencies (the in-memory double records zero). */
    protected boolean measuresLatency() {
        return true;
    }

    protected String prefix(TestInfo info) {
        return info.getTestMethod().orElseThrow().getName() + "/";
    }

    protected static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    protected static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    protected byte[] read(String key, ByteRange range) {
        ObjectData d = storage().get(key, range).join();
        try {
            return ByteBufUtil.getBytes(d.content());
        } finally {
            d.release();
        }
    }

    protected static Throwable failure(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected the future to fail");
    }

    @Test
    void putThenGetReturnsSameBytesAndHeadMatchesPut(TestInfo info) {
        String key = prefix(info) + "a";
        ObjectInfo put = storage().put(key, bytes("hello strata")).join();
        assertThat(put.size()).isEqualTo(12);
        assertThat(new String(read(key, ByteRange.all()), StandardCharsets.UTF_8)).isEqualTo("hello strata");
        ObjectInfo head = storage().head(key).join();
        assertThat(head.size()).isEqualTo(12);
        assertThat(head.etag()).isEqualTo(put.etag());
    }

    @Test
    void overwriteReplacesObjectAndChangesEtag(TestInfo info) {
        String key = prefix(info) + "a";
        ObjectInfo first = storage().put(key, bytes("one")).join();
        ObjectInfo second = storage().put(key, bytes("second")).join();
        assertThat(second.etag()).isNotEqualTo(first.etag());
        assertThat(read(key, ByteRange.all())).isEqualTo("second".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void rangedGetReturnsRequestedBytesPositionAndObjectSize(TestInfo info) {
        String key = prefix(info) + "r";
        byte[] body = random(10_000, 1);
        storage().put(key, Unpooled.wrappedBuffer(body)).join();

        ObjectData mid = storage().get(key, ByteRange.of(1000, 500)).join();
        try {
            assertThat(ByteBufUtil.getBytes(mid.content())).isEqualTo(java.util.Arrays.copyOfRange(body, 1000, 1500));
            assertThat(mid.position()).isEqualTo(1000);
            assertThat(mid.objectSize()).isEqualTo(10_000);
        } finally {
            mid.release();
        }
        assertThat(read(key, ByteRange.of(9_900, 500))).isEqualTo(java.util.Arrays.copyOfRange(body, 9_900, 10_000));
        ObjectData tail = storage().get(key, ByteRange.suffix(300)).join();
        try {
            assertThat(ByteBufUtil.getBytes(tail.content())).isEqualTo(java.util.Arrays.copyOfRange(body, 9_700, 10_000));
            assertThat(tail.position()).isEqualTo(9_700);
            assertThat(tail.objectSize()).isEqualTo(10_000);
        } finally {
            tail.release();
        }
        assertThat(read(key, ByteRange.suffix(50_000))).isEqualTo(body);
    }

    @Test
    void rangeStartingPastTheEndFailsPermanently(TestInfo info) {
        String key = prefix(info) + "r";
        storage().put(key, bytes("0123456789")).join();
        Throwable e = failure(storage().get(key, ByteRange.of(10, 5)));
        assertThat(e).isInstanceOf(ObjectStorageException.class);
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(ObjectStorageException.Kind.PERMANENT);
    }

    @Test
    void getAndHeadOfMissingKeyFailWithNotFound(TestInfo info) {
        assertThat(failure(storage().get(prefix(info) + "missing", ByteRange.all())))
                .isInstanceOf(ObjectNotFoundException.class);
        assertThat(failure(storage().head(prefix(info) + "missing"))).isInstanceOf(ObjectNotFoundException.class);
        // callbacks see the typed exception itself, not a CompletionException around it
        assertThat(storage().get(prefix(info) + "missing", ByteRange.all()).handle((v, e) -> e).join())
                .isInstanceOf(ObjectNotFoundException.class);
        assertThat(storage().put(prefix(info) + "x", bytes("x"), PutCondition.ifMatch("\"nope\"")).handle((v, e) -> e)
                .join()).isInstanceOf(ObjectNotFoundException.class);
    }

    @Test
    void createIfAbsentFailsWhenKeyExistsAndKeepsFirstBody(TestInfo info) {
        String key = prefix(info) + "m";
        storage().put(key, bytes("first"), PutCondition.ifAbsent()).join();
        Throwable e = failure(storage().put(key, bytes("second"), PutCondition.ifAbsent()));
        assertThat(e).isInstanceOf(PreconditionFailedException.class);
        assertThat(((ObjectStorageException) e).isRetriable()).isFalse();
        assertThat(read(key, ByteRange.all())).isEqualTo("first".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void replaceIfMatchSucceedsOnlyWithCurrentEtag(TestInfo info) {
        String key = prefix(info) + "m";
        ObjectInfo v1 = storage().put(key, bytes("v1")).join();
        ObjectInfo v2 = storage().put(key, bytes("v2"), PutCondition.ifMatch(v1.etag())).join();
        assertThat(failure(storage().put(key, bytes("v3"), PutCondition.ifMatch(v1.etag()))))
                .isInstanceOf(PreconditionFailedException.class);
        assertThat(read(key, ByteRange.all())).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
        assertThat(storage().head(key).join().etag()).isEqualTo(v2.etag());
    }

    @Test
    void replaceIfMatchOnMissingKeyFailsWithNotFound(TestInfo info) {
        assertThat(failure(storage().put(prefix(info) + "nope", bytes("x"), PutCondition.ifMatch("\"abc\""))))
                .isInstanceOf(ObjectNotFoundException.class);
    }

    @Test
    void racingCreateIfAbsentFromTwoThreadsHasExactlyOneWinner(TestInfo info) throws Exception {
        racing(info, 10, key -> PutCondition.ifAbsent(), null);
    }

    @Test
    void racingReplaceIfMatchFromTwoThreadsHasExactlyOneWinner(TestInfo info) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(atomicIfMatch(), "the test server's If-Match is not atomic");
        racing(info, 10, key -> PutCondition.ifMatch(storage().head(key).join().etag()), "base");
    }

    private void racing(TestInfo info, int rounds, java.util.function.Function<String, PutCondition> condition,
                        String initial) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < rounds; round++) {
                String key = prefix(info) + "race-" + round;
                if (initial != null) {
                    storage().put(key, bytes(initial)).join();
                }
                PutCondition c = condition.apply(key);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Throwable>> results = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    String body = "writer-" + t;
                    results.add(pool.submit(() -> {
                        go.await();
                        try {
                            storage().put(key, bytes(body), c).join();
                            return null;
                        } catch (CompletionException e) {
                            return e.getCause();
                        }
                    }));
                }
                go.countDown();
                Throwable a = results.get(0).get();
                Throwable b = results.get(1).get();
                assertThat((a == null ? 1 : 0) + (b == null ? 1 : 0)).as("winners in round " + round).isEqualTo(1);
                Throwable loser = a == null ? b : a;
                assertThat(loser).isInstanceOf(PreconditionFailedException.class);
                String winnerBody = a == null ? "writer-0" : "writer-1";
                assertThat(new String(read(key, ByteRange.all()), StandardCharsets.UTF_8)).isEqualTo(winnerBody);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void listReturnsKeysUnderPrefixSortedWithSizes(TestInfo info) {
        String p = prefix(info);
        for (String k : List.of("b/2", "a/1", "a/10", "c", "ab")) {
            storage().put(p + k, bytes(k)).join();
        }
        storage().put("other-" + p + "x", bytes("x")).join();
        List<ObjectInfo> all = storage().list(p).join();
        assertThat(all).extracting(ObjectInfo::key).containsExactly(p + "a/1", p + "a/10", p + "ab", p + "b/2", p + "c");
        assertThat(all).extracting(ObjectInfo::size).containsExactly(3L, 4L, 2L, 3L, 1L);
        assertThat(storage().list(p + "a").join()).extracting(ObjectInfo::key)
                .containsExactly(p + "a/1", p + "a/10", p + "ab");
        assertThat(storage().list(p + "a/").join()).extracting(ObjectInfo::key).containsExactly(p + "a/1", p + "a/10");
        assertThat(storage().list(p + "zzz").join()).isEmpty();
    }

    @Test
    void deleteRemovesKeysInBatchesOfAtMostOneThousandAndIgnoresMissing(TestInfo info) {
        String p = prefix(info);
        List<String> keys = new ArrayList<>();
        List<CompletableFuture<ObjectInfo>> puts = new ArrayList<>();
        for (int i = 0; i < 1005; i++) {
            String k = p + String.format("%04d", i);
            keys.add(k);
            puts.add(storage().put(k, bytes("x")));
        }
        CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
        keys.add(p + "never-existed");
        long deletesBefore = storage().metrics().stats(Operation.DELETE).requests();
        storage().delete(keys).join();
        assertThat(storage().metrics().stats(Operation.DELETE).requests() - deletesBefore).isEqualTo(2);
        assertThat(storage().list(p).join()).isEmpty();
    }

    @Test
    void streamingUploadOfSmallObjectIsOneRequest(TestInfo info) {
        String key = prefix(info) + "s";
        long creates = storage().metrics().stats(Operation.MULTIPART_CREATE).requests();
        ObjectUpload up = storage().startUpload(key, PutCondition.none());
        up.write(bytes("hello ")).join();
        up.write(bytes("world")).join();
        assertThat(up.bytesWritten()).isEqualTo(11);
        ObjectInfo done = up.complete().join();
        assertThat(done.size()).isEqualTo(11);
        assertThat(read(key, ByteRange.all())).isEqualTo("hello world".getBytes(StandardCharsets.UTF_8));
        assertThat(storage().metrics().stats(Operation.MULTIPART_CREATE).requests()).isEqualTo(creates);
    }

    @Test
    void streamingUploadOfLargeObjectReadsBackAcrossPartBoundaries(TestInfo info) {
        String key = prefix(info) + "big";
        byte[] body = random(2 * PART_SIZE + 123_457, 7);
        long partsBefore = storage().metrics().stats(Operation.MULTIPART_UPLOAD_PART).requests();
        ObjectUpload up = storage().startUpload(key, PutCondition.none());
        int chunk = 1 << 20;
        for (int off = 0; off < body.length; off += chunk) {
            up.write(Unpooled.wrappedBuffer(body, off, Math.min(chunk, body.length - off))).join();
        }
        ObjectInfo done = up.complete().join();
        assertThat(done.size()).isEqualTo(body.length);
        assertThat(storage().head(key).join().size()).isEqualTo(body.length);
        // a range across the first part boundary
        assertThat(read(key, ByteRange.of(PART_SIZE - 1000, 2000)))
                .isEqualTo(java.util.Arrays.copyOfRange(body, PART_SIZE - 1000, PART_SIZE + 1000));
        assertThat(read(key, ByteRange.all())).isEqualTo(body);
        if (usesMultipart()) {
            assertThat(storage().metrics().stats(Operation.MULTIPART_UPLOAD_PART).requests() - partsBefore).isEqualTo(3);
        }
    }

    @Test
    void conditionalStreamingUploadFailsWhenKeyExistsAndLeavesItIntact(TestInfo info) {
        String key = prefix(info) + "exists";
        storage().put(key, bytes("original")).join();
        ObjectUpload up = storage().startUpload(key, PutCondition.ifAbsent());
        byte[] body = random(PART_SIZE + 10, 3);
        up.write(Unpooled.wrappedBuffer(body)).join();
        assertThat(failure(up.complete())).isInstanceOf(PreconditionFailedException.class);
        assertThat(read(key, ByteRange.all())).isEqualTo("original".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void abortedUploadLeavesNoObject(TestInfo info) {
        String key = prefix(info) + "aborted";
        ObjectUpload up = storage().startUpload(key, PutCondition.none());
        up.write(bytes("partial")).join();
        up.abort().join();
        assertThat(failure(storage().head(key))).isInstanceOf(ObjectNotFoundException.class);
        assertThat(storage().list(prefix(info)).join()).isEmpty();
    }

    @Test
    void invalidKeysAreRejectedAndTheBufferReleased() {
        for (String bad : new String[] {"", "/abs", "a/../b", "..", "a//b", "a/", "./a", "a\\b"}) {
            ByteBuf buf = bytes("x");
            assertThatThrownBy(() -> storage().put(bad, buf)).as(bad).isInstanceOf(IllegalArgumentException.class);
            assertThat(buf.refCnt()).as("released for " + bad).isZero();
            assertThatThrownBy(() -> storage().get(bad, ByteRange.all())).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void metricsCountRequestsAndBytesPerOperation(TestInfo info) {
        String key = prefix(info) + "m";
        ObjectStorageMetrics.OperationStats putsBefore = storage().metrics().stats(Operation.PUT);
        ObjectStorageMetrics.OperationStats getsBefore = storage().metrics().stats(Operation.GET);
        storage().put(key, Unpooled.wrappedBuffer(new byte[1000])).join();
        read(key, ByteRange.of(0, 100));
        failure(storage().get(prefix(info) + "missing", ByteRange.all()));
        ObjectStorageMetrics.OperationStats puts = storage().metrics().stats(Operation.PUT);
        ObjectStorageMetrics.OperationStats gets = storage().metrics().stats(Operation.GET);
        assertThat(puts.requests() - putsBefore.requests()).isEqualTo(1);
        assertThat(puts.bytes() - putsBefore.bytes()).isEqualTo(1000);
        assertThat(gets.requests() - getsBefore.requests()).isEqualTo(2);
        assertThat(gets.bytes() - getsBefore.bytes()).isEqualTo(100);
        assertThat(gets.errors() - getsBefore.errors()).isEqualTo(1);
        if (measuresLatency()) {
            assertThat(gets.maxMicros()).isPositive();
        }
    }

}
