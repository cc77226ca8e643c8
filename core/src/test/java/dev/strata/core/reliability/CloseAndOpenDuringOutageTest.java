package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.StorageException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.core.Strata;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.Retrier;
import dev.strata.objectstore.RetryPolicy;
import dev.strata.objectstore.RetryingObjectStorage;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.testkit.Futures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * close() and build() during an object-store outage end within their bounds (settings
 * {@code closeUploadTimeout} and {@code objectStoreOpenTimeout}, set small here), and nothing
 * acknowledged is lost: it stays in the WAL and is uploaded after the outage. Issue 18, item 13.
 *
 * <p>The time limits below only guard against hangs; they are many times the bounds set.
 */
class CloseAndOpenDuringOutageTest {
    private static final Duration HANG_GUARD = Duration.ofSeconds(20);
    private static final int PAYLOAD = 4096;

    @TempDir
    Path dir;

    /**
     * A store on {@code storage} with a short close bound. Builds of a healthy store keep the default
     * open bound: a slow fsync on a loaded machine must not fail them; only the builds expected to
     * fail during an outage use {@link #builderDuringOutage}.
     */
    private Strata.Builder builder(ObjectStorage storage) {
        return StoreFixtures.campaign(dir).objectStorage(storage).compactionInterval(Duration.ZERO)
                .closeUploadTimeout(Duration.ofMillis(200));
    }

    /** As {@link #builder}, with a 300 ms bound on each object-store request of {@code build()}. */
    private Strata.Builder builderDuringOutage(ObjectStorage storage) {
        return builder(storage).objectStoreOpenTimeout(Duration.ofMillis(300));
    }

    /** Appends {@code n} batches and returns their payloads, all acknowledged. */
    private static List<byte[]> append(Stream s, int n, SplittableRandom random) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] payload = new byte[PAYLOAD];
            random.nextBytes(payload);
            await(s.append(RecordBatch.of(1, ByteBuffer.wrap(payload))));
            out.add(payload);
        }
        return out;
    }

    private static void assertReadsBack(DurableStreamStore store, long streamId, List<byte[]> expected) {
        Stream s = await(store.openStream(streamId, 0));
        assertThat(s.nextOffset()).as("next offset after reopen").isEqualTo(expected.size());
        long offset = 0;
        while (offset < expected.size()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 64 * 1024))) {
                for (FetchedBatch b : r.batches()) {
                    byte[] got = new byte[b.payload().remaining()];
                    b.payload().get(got);
                    assertThat(got).as("payload at offset %d", b.baseOffset()).isEqualTo(expected.get((int) b.baseOffset()));
                    offset = b.baseOffset() + b.count();
                }
            }
        }
    }

    @Test
    void closeDuringAnOutageGivesUpOnTheFinalUploadAndLosesNothing() {
        LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"));
        GatedObjectStorage storage = new GatedObjectStorage(local);
        try {
            DurableStreamStore store = builder(storage).build();
            Stream s = await(store.createStream(StreamOptions.defaults()));
            SplittableRandom random = new SplittableRandom(13);
            List<byte[]> acked = new ArrayList<>(append(s, 40, random));
            await(store.flush()); // some data in objects before the outage

            storage.hang(); // the object store stops answering
            acked.addAll(append(s, 40, random)); // acknowledged from the WAL
            CompletableFuture<Void> flush = store.flush(); // an upload that waits for the store
            await(storage.firstHeld());

            assertTimeoutPreemptively(HANG_GUARD, store::close, "close() during an object-store outage");
            assertThat(flush).as("flush future when close() returned").isDone();

            storage.endOutage(); // late failures of the held requests release their buffers
            try (DurableStreamStore reopened = builder(storage).build()) {
                assertReadsBack(reopened, s.id(), acked);
            }
        } finally {
            storage.endOutage();
            local.close();
        }
    }

    /**
     * An idle store (nothing to upload) with a metadata change waiting for the object store, and a
     * compaction cycle too: close() still ends within its bounds, and the waiting change fails
     * (before: the manifest's close waited up to 120 s for it).
     */
    @Test
    void closeOfAnIdleStoreWithAMetadataChangeWaitingInAnOutageIsBounded() {
        LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"));
        GatedObjectStorage storage = new GatedObjectStorage(local);
        try {
            DurableStreamStore store = builder(storage).build();
            await(store.createStream(StreamOptions.defaults()));
            storage.hang();
            CompletableFuture<Stream> waiting = store.createStream(StreamOptions.defaults());
            CompletableFuture<?> compaction = store.compact();
            await(storage.firstHeld());

            assertTimeoutPreemptively(HANG_GUARD, store::close, "close() of an idle store during an outage");
            assertThat(waiting).as("the metadata change waiting when close() returned").isCompletedExceptionally();
            storage.endOutage();
            assertTimeoutPreemptively(HANG_GUARD, () -> compaction.handle((r, e) -> null).join());
        } finally {
            storage.endOutage();
            local.close();
        }
    }

    @Test
    void buildDuringAnOutageFailsRetriablyWithinItsBound() {
        LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"));
        GatedObjectStorage storage = new GatedObjectStorage(local);
        try {
            long streamId;
            List<byte[]> acked;
            try (DurableStreamStore store = builder(storage).build()) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                streamId = s.id();
                acked = append(s, 20, new SplittableRandom(5));
            }
            storage.hang();
            assertTimeoutPreemptively(HANG_GUARD, () -> assertThatThrownBy(() -> builderDuringOutage(storage).build())
                    .isInstanceOf(StorageException.class)
                    .matches(e -> ((StorageException) e).isRetriable(), "is retriable")
                    .hasMessageContaining("objectStoreOpenTimeout"), "build() while the object store does not answer");

            storage.endOutage();
            try (DurableStreamStore store = builder(storage).build()) {
                assertReadsBack(store, streamId, acked);
            }
        } finally {
            storage.endOutage();
            local.close();
        }
    }

    /** The outage as the production retry layer sees it: every request fails, retriably, and is retried. */
    @Test
    void buildAgainstAStoreThatFailsEveryRetryFailsWithinItsBound() {
        ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();
        LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"));
        try {
            builder(local).build().close(); // a store exists
            FaultInjectingObjectStorage faults = new FaultInjectingObjectStorage(local, 18);
            for (Operation op : Operation.values()) {
                faults.failRate(op, 1.0, Kind.TRANSIENT);
            }
            ObjectStorage retrying = new RetryingObjectStorage(faults, new Retrier(RetryPolicy.defaults(),
                    (task, delay) -> retries.schedule(task, delay, TimeUnit.NANOSECONDS), System::nanoTime,
                    new SplittableRandom(18)));
            Throwable failure = assertTimeoutPreemptively(HANG_GUARD, () -> {
                try {
                    builderDuringOutage(retrying).build().close();
                    return null;
                } catch (RuntimeException e) {
                    return e;
                }
            }, "build() while every object-store request fails and is retried");
            assertThat(Futures.unwrap(failure)).isInstanceOf(StorageException.class)
                    .hasMessageContaining("objectStoreOpenTimeout")
                    .matches(e -> ((StorageException) e).isRetriable(), "is retriable");
        } finally {
            retries.shutdownNow();
            local.close();
        }
    }
}
