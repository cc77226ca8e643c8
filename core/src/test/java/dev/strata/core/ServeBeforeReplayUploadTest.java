package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store that opens with acknowledged data in its WAL serves it (reads and appends) without waiting
 * for that data's upload, which goes on in the background: here the data objects' uploads are held
 * until the store served. A takeover (store B opening the prefix of store A, which stopped without
 * closing) therefore serves as soon as it has replayed A's WAL.
 */
class ServeBeforeReplayUploadTest {
    private static final int STREAMS = 2;
    private static final int BATCHES = 40;

    @TempDir
    Path bucket;

    @Test
    void aTakeoverServesTheReplayedDataWhileItsUploadIsHeldAndUploadsItAfterwards() {
        DurableStreamStore a = StoreFixtures.diskless(bucket).build(); // never closed before B took over, as if paused
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            Stream s = await(a.createStream(StreamOptions.defaults()));
            ids.add(s.id());
            for (int b = 0; b < BATCHES; b++) {
                await(s.append(RecordBatch.of(1, ByteBuffer.wrap(payload(i, b)))));
            }
        }

        HeldDataUploads storage = new HeldDataUploads(ObjectStorages.fromUri(bucket.toUri()));
        // A long open bound: were build() to wait for the held upload, it would not return (the
        // await below would fail) instead of giving up on the upload after the default 10 s.
        Strata.Builder builder = StoreFixtures.disklessSizes(Strata.builder().objectStorage(storage),
                StoreFixtures.disklessWal().build()).objectStoreOpenTimeout(Duration.ofMinutes(10));
        try (DurableStreamStore b = await(CompletableFuture.supplyAsync(builder::build))) {
            assertThat(b.recoveryReport().recordsReplayed()).isEqualTo((long) STREAMS * BATCHES);
            await(storage.firstHeld); // the replayed data's upload started and is held: B serves meanwhile
            for (int i = 0; i < STREAMS; i++) {
                Stream s = await(b.openStream(ids.get(i), 1));
                assertThat(readAll(s)).as("stream %d, read while its upload is held", i).containsExactlyElementsOf(expected(i));
                assertThat(await(s.append(RecordBatch.of(1, ByteBuffer.wrap(payload(i, BATCHES))))).baseOffset())
                        .isEqualTo(BATCHES);
            }
            assertThat(storage.dataObjectsStored()).as("no data object stored while held").isZero();

            storage.release();
            await(b.flush());
            assertThat(storage.dataObjectsStored()).as("the replayed data was uploaded after all").isPositive();
        }
        storage.close();
        a.close(); // fenced: its close commits nothing

        try (DurableStreamStore c = StoreFixtures.diskless(bucket).build()) {
            for (int i = 0; i < STREAMS; i++) {
                Stream s = await(c.openStream(ids.get(i), 2));
                List<String> all = new ArrayList<>(expected(i));
                all.add(new String(payload(i, BATCHES), StandardCharsets.UTF_8));
                assertThat(readAll(s)).as("stream %d after B closed", i).containsExactlyElementsOf(all);
            }
        }
    }

    private static byte[] payload(int stream, int batch) {
        return ("stream-" + stream + "-batch-" + batch).getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> expected(int stream) {
        List<String> out = new ArrayList<>();
        for (int b = 0; b < BATCHES; b++) {
            out.add(new String(payload(stream, b), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static List<String> readAll(Stream s) {
        List<String> out = new ArrayList<>();
        long offset = s.startOffset();
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 1 << 20))) {
                for (FetchedBatch batch : r.batches()) {
                    assertThat(batch.baseOffset()).isEqualTo(offset);
                    out.add(StandardCharsets.UTF_8.decode(batch.payload()).toString());
                    offset = batch.baseOffset() + batch.count();
                }
            }
        }
        return out;
    }

    /** Holds the writes of data objects (stream-set and stream objects) until {@link #release()}. */
    private static final class HeldDataUploads extends ForwardingObjectStorage {
        private static final Pattern DATA_KEY = Pattern.compile("(.*/)?[0-9a-f]{4}/(sso|so)/\\d{20}");
        final CompletableFuture<Void> firstHeld = new CompletableFuture<>();
        private final CompletableFuture<Void> gate = new CompletableFuture<>();
        private final java.util.concurrent.atomic.AtomicInteger stored = new java.util.concurrent.atomic.AtomicInteger();

        HeldDataUploads(ObjectStorage delegate) {
            super(delegate);
        }

        void release() {
            gate.complete(null);
        }

        int dataObjectsStored() {
            return stored.get();
        }

        private static boolean isData(String key) {
            return DATA_KEY.matcher(key).matches();
        }

        @Override
        public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
            if (!isData(key)) {
                return delegate.put(key, data, condition);
            }
            firstHeld.complete(null);
            return gate.thenCompose(v -> delegate.put(key, data, condition)).thenApply(this::counted);
        }

        @Override
        public ObjectUpload startUpload(String key, PutCondition condition) {
            ObjectUpload upload = delegate.startUpload(key, condition);
            if (!isData(key)) {
                return upload;
            }
            return new ForwardingObjectUpload(upload) {
                @Override
                public CompletableFuture<ObjectInfo> complete() {
                    firstHeld.complete(null);
                    return gate.thenCompose(v -> delegate.complete()).thenApply(HeldDataUploads.this::counted);
                }
            };
        }

        private ObjectInfo counted(ObjectInfo info) {
            stored.incrementAndGet();
            return info;
        }
    }
}
