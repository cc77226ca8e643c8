package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.objectstore.testing.ImmediateScheduler;
import dev.strata.objectstore.testing.InMemoryObjectStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** RetryingObjectStorage over FaultInjectingObjectStorage: what is retried, what is not, and no leaks. */
class FaultInjectionRetryTest {
    private final ImmediateScheduler scheduler = new ImmediateScheduler();
    private final InMemoryObjectStorage store = new InMemoryObjectStorage();
    private final FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(store, 7);
    private final RetryingObjectStorage storage = new RetryingObjectStorage(faulty,
            new Retrier(RetryPolicy.defaults(), scheduler, scheduler::nanoTime, new SplittableRandom(7)));

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    private static Throwable failure(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected failure");
    }

    @Test
    void putsAndGetsSurviveThrottlingAndTransientErrors() {
        faulty.failNext(Operation.PUT, 3, Kind.THROTTLED).failNext(Operation.GET, 2, Kind.TRANSIENT);
        ByteBuf data = bytes("payload");
        storage.put("a", data).join();
        assertThat(data.refCnt()).isZero();
        ObjectData got = storage.get("a", ByteRange.all()).join();
        try {
            assertThat(got.content().toString(StandardCharsets.UTF_8)).isEqualTo("payload");
        } finally {
            got.release();
        }
        assertThat(faulty.injectedFaults()).isEqualTo(5);
        assertThat(scheduler.delays()).hasSize(5);
    }

    @Test
    void conditionalPutIsNotRetriedOnTransientErrorsBecauseTheOutcomeIsUnknown() {
        // the first attempt is applied but its response is lost: a retry would see its own write
        faulty.loseResponses(Operation.PUT, 1, Kind.TRANSIENT);
        Throwable e = failure(storage.put("cond", bytes("v1"), PutCondition.ifAbsent()));
        assertThat(e).isInstanceOf(ObjectStorageException.class);
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.TRANSIENT);
        assertThat(store.bytes("cond")).isEqualTo("v1".getBytes(StandardCharsets.UTF_8));
        assertThat(scheduler.delays()).isEmpty();
    }

    @Test
    void conditionalPutIsRetriedWhenThrottledAndStillWinsOnce() {
        faulty.failNext(Operation.PUT, 2, Kind.THROTTLED);
        storage.put("once", bytes("v1"), PutCondition.ifAbsent()).join();
        assertThat(failure(storage.put("once", bytes("v2"), PutCondition.ifAbsent())))
                .isInstanceOf(PreconditionFailedException.class);
    }

    @Test
    void failuresBeyondTheAttemptBudgetSurfaceAsRetriableThrottling() {
        faulty.failRate(Operation.HEAD, 1.0, Kind.THROTTLED);
        store.put("h", bytes("x")).join();
        Throwable e = failure(storage.head("h"));
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.THROTTLED);
        assertThat(((ObjectStorageException) e).isRetriable()).isTrue();
        assertThat(faulty.injectedFaults()).isEqualTo(RetryPolicy.DEFAULT_MAX_ATTEMPTS);
    }

    @Test
    void faultsScopedByKeyPrefixHitOnlyThoseKeys() {
        faulty.failNext(Operation.PUT, "manifest/", 1, Kind.PERMANENT);
        storage.put("data/1", bytes("d")).join();
        assertThat(((ObjectStorageException) failure(storage.put("manifest/1", bytes("m")))).kind())
                .isEqualTo(Kind.PERMANENT);
        storage.put("manifest/1", bytes("m")).join();
    }

    @Test
    void readsLongerThanTheByteLimitFailTransientlyAndUploadsPastItFail() {
        store.put("big", Unpooled.wrappedBuffer(new byte[1000])).join();
        faulty.failAfterBytes(100);
        ObjectData small = faulty.get("big", ByteRange.of(0, 100)).join();
        small.release();
        assertThat(((ObjectStorageException) failure(faulty.get("big", ByteRange.all()))).kind())
                .isEqualTo(Kind.TRANSIENT);
        ObjectUpload up = faulty.startUpload("up", PutCondition.none());
        up.write(Unpooled.wrappedBuffer(new byte[60])).join();
        ByteBuf second = Unpooled.wrappedBuffer(new byte[60]);
        assertThat(failure(up.write(second))).isInstanceOf(ObjectStorageException.class);
        assertThat(second.refCnt()).isZero();
        up.abort().join();
    }

    @Test
    void sameSeedInjectsTheSameFaults() {
        List<Boolean> first = pattern(11);
        assertThat(pattern(11)).isEqualTo(first);
        assertThat(first).contains(true, false);
    }

    private static List<Boolean> pattern(long seed) {
        InMemoryObjectStorage s = new InMemoryObjectStorage();
        s.put("k", bytes("x")).join();
        FaultInjectingObjectStorage f = new FaultInjectingObjectStorage(s, seed).failRate(Operation.HEAD, 0.5, Kind.TRANSIENT);
        java.util.ArrayList<Boolean> out = new java.util.ArrayList<>();
        for (int i = 0; i < 32; i++) {
            out.add(f.head("k").isCompletedExceptionally());
        }
        return out;
    }

    @Test
    void latencyIsAddedThroughTheInjectedScheduler() {
        store.put("l", bytes("x")).join();
        faulty.latency(5_000_000, scheduler);
        ObjectData d = faulty.get("l", ByteRange.all()).join();
        try {
            assertThat(ByteBufUtil.getBytes(d.content())).hasSize(1);
        } finally {
            d.release();
        }
        assertThat(scheduler.delays()).containsExactly(5_000_000L);
    }
}
