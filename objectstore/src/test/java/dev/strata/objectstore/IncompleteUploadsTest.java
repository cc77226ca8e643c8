package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.s3.S3Options;
import java.net.URI;
import dev.strata.objectstore.testing.S3ProxyServer;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * Issue 18 item 12: uploads abandoned by a killed process (local temporary files, S3 multipart
 * uploads) are listed by {@link ObjectStorage#listIncompleteUploads()}, with their age, and removed
 * by {@link ObjectStorage#abortIncompleteUploads}; an upload this instance has in progress is never
 * listed nor aborted. S3 runs against the real S3Proxy server.
 */
class IncompleteUploadsTest {
    @TempDir
    Path tmp;

    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();

    @Test
    void localTemporaryFilesOfKilledUploadsAreListedWithTheirAgeAndAbortedButNotOnesInProgress() throws Exception {
        Path root = tmp.resolve("objects");
        try (LocalObjectStorage storage = LocalObjectStorage.open(root)) {
            storage.put("a/b/object", Unpooled.wrappedBuffer(new byte[] {1})).join();
            // what a process killed mid-upload leaves: temporary files next to their targets
            Instant old = Instant.parse("2026-01-01T00:00:00Z");
            Path killed1 = write(root.resolve("a/b/" + LocalObjectStorage.TEMP_PREFIX + "killed-1"), old);
            Path killed2 = write(root.resolve(LocalObjectStorage.TEMP_PREFIX + "killed-2"), old.plusSeconds(60));
            // an upload of this instance in progress: its temporary file exists but is not abandoned
            ObjectUpload inProgress = storage.startUpload("a/b/in-progress", PutCondition.none());
            inProgress.write(Unpooled.wrappedBuffer(new byte[100])).join();
            assertThat(temporaryFiles(root)).hasSize(3);

            List<IncompleteUpload> listed = storage.listIncompleteUploads().join();
            assertThat(listed).containsExactly(
                    new IncompleteUpload(null, LocalObjectStorage.TEMP_PREFIX + "killed-2", old.plusSeconds(60)),
                    new IncompleteUpload(null, "a/b/" + LocalObjectStorage.TEMP_PREFIX + "killed-1", old));
            assertThat(storage.list("").join()).extracting(ObjectInfo::key).containsExactly("a/b/object");

            // killed-2 is written to after the listing: someone is still using it, so it is kept
            Files.setLastModifiedTime(killed2, FileTime.from(old.plusSeconds(120)));
            storage.abortIncompleteUploads(listed).join();
            assertThat(Files.exists(killed1)).isFalse();
            assertThat(Files.exists(killed2)).isTrue();
            assertThat(inProgress.complete().join().size()).isEqualTo(100);
            assertThat(storage.list("").join()).extracting(ObjectInfo::key).containsExactly("a/b/in-progress", "a/b/object");
            assertThat(storage.listIncompleteUploads().join()).extracting(IncompleteUpload::uploadId)
                    .containsExactly(LocalObjectStorage.TEMP_PREFIX + "killed-2");
            // gone already: not an error
            storage.abortIncompleteUploads(listed).join();
        }
    }

    @Test
    void abandonedS3MultipartUploadsAreListedWithTheirStartAndAbortedButNotOnesInProgress() throws Exception {
        S3.createBucket("incomplete");
        ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();
        try (S3AsyncClient client = S3.newClient();
                S3ObjectStorage storage = S3ObjectStorage.create(client,
                        ObjectStorages.s3Options(URI.create(S3.objectStoreUri("incomplete", "store/") + "&partSizeBytes="
                                + S3Options.MIN_PART_SIZE_BYTES + "&maxPartsInFlight=1")),
                        new Retrier(RetryPolicy.defaults(), (task, delay) -> retries.schedule(task, delay, TimeUnit.NANOSECONDS),
                                System::nanoTime, new SplittableRandom(3)))) {
            // a process killed mid-upload: created, one part sent, never completed nor aborted
            Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(1);
            String killedId = client.createMultipartUpload(b -> b.bucket("incomplete").key("store/data/killed")).join().uploadId();
            client.uploadPart(b -> b.bucket("incomplete").key("store/data/killed").uploadId(killedId).partNumber(1),
                    AsyncRequestBody.fromBytes(new byte[1024])).join();
            // another prefix (another store in the same bucket): not ours
            String foreignId = client.createMultipartUpload(b -> b.bucket("incomplete").key("other/x")).join().uploadId();
            // an upload of this instance in progress: one part sent, not completed (one part in flight at
            // most, so the write returns once the part is stored and the upload exists on the server)
            ObjectUpload inProgress = storage.startUpload("data/in-progress", PutCondition.none());
            inProgress.write(Unpooled.wrappedBuffer(new byte[storage.options().partSizeBytes()])).join();
            assertThat(rawUploads(client)).hasSize(3);

            List<IncompleteUpload> listed = storage.listIncompleteUploads().join();
            assertThat(listed).extracting(IncompleteUpload::key, IncompleteUpload::uploadId)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("data/killed", killedId));
            assertThat(listed.get(0).startedAt()).isAfterOrEqualTo(before).isBeforeOrEqualTo(Instant.now());

            storage.abortIncompleteUploads(listed).join();
            assertThat(rawUploads(client)).extracting(MultipartUpload::uploadId).doesNotContain(killedId).contains(foreignId);
            assertThat(storage.listIncompleteUploads().join()).isEmpty();
            storage.abortIncompleteUploads(listed).join(); // gone already: not an error

            CompletableFuture<ObjectInfo> done = inProgress.complete();
            assertThat(done.join().size()).isEqualTo(storage.options().partSizeBytes());
            assertThat(rawUploads(client)).extracting(MultipartUpload::uploadId).containsExactly(foreignId);
        } finally {
            retries.shutdownNow();
        }
    }

    private static List<MultipartUpload> rawUploads(S3AsyncClient client) {
        return client.listMultipartUploads(b -> b.bucket("incomplete")).join().uploads();
    }

    private static Path write(Path file, Instant modified) throws Exception {
        Files.createDirectories(file.getParent());
        Files.write(file, new byte[4096]);
        Files.setLastModifiedTime(file, FileTime.from(modified));
        return file;
    }

    private static List<Path> temporaryFiles(Path root) throws Exception {
        try (var files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().startsWith(LocalObjectStorage.TEMP_PREFIX)).toList();
        }
    }
}
