package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.strata.api.Stream;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.core.Strata;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.Retrier;
import dev.strata.objectstore.RetryPolicy;
import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.s3.S3Options;
import dev.strata.objectstore.testing.S3ProxyServer;
import dev.strata.testkit.AckLedger;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
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
 * Issue 18 item 12: what uploads cut off by a kill leave behind (local temporary files
 * ".strata-tmp-*", S3 multipart uploads) is deleted by the store's compaction cycle once older than
 * the orphan TTL; fresh ones are kept; a fenced store deletes nothing. The kill is simulated by
 * what it leaves: temporary files with the modification time a killed upload would have (the
 * store's {@link ManualClock} gives "now"), and a multipart upload created and never completed.
 */
class AbandonedUploadSweepTest {
    private static final Duration TTL = Duration.ofMinutes(10);

    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();

    @TempDir
    Path tmp;

    private final ManualClock clock = new ManualClock(Instant.now());

    private Strata.Builder builder(Path dir) {
        return StoreFixtures.campaign(dir)
                .uploadInterval(Duration.ofHours(1))
                .compactionInterval(Duration.ZERO)
                .clock(clock)
                .orphanTtl(TTL);
    }

    @Test
    void temporaryFilesOfKilledUploadsGoOnceOlderThanTheOrphanTtlAndFreshOnesStay() throws Exception {
        Path dir = tmp.resolve("store");
        Path objects = dir.resolve("objects");
        AckLedger ledger = new AckLedger();
        try (DurableStreamStore store = builder(dir).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            for (int b = 0; b < 5; b++) {
                ledger.ack(s.id(), await(s.append(Campaigns.batch(3_000L + b))).baseOffset(), 3_000L + b);
            }
            await(store.flush());
            Path dataDir = dataObjectDirectory(objects);
            Instant now = clock.instant();
            Path stale = temporaryFile(dataDir, "killed-1", now.minus(TTL).minusSeconds(60));
            Path staleAtRoot = temporaryFile(objects, "killed-2", now.minus(TTL));
            Path fresh = temporaryFile(dataDir, "killed-3", now.minusSeconds(60));

            await(store.compact());
            assertThat(stale).doesNotExist();
            assertThat(staleAtRoot).doesNotExist();
            assertThat(fresh).exists();
            Campaigns.verifyAcknowledged(s, ledger, "after the sweep");

            clock.advance(TTL);
            await(store.compact());
            assertThat(fresh).as("old enough now").doesNotExist();
            assertThat(temporaryFiles(objects)).isEmpty();
            Campaigns.verifyAcknowledged(s, ledger, "after the second sweep");
        }
    }

    @Test
    void aFencedStoreDeletesNoTemporaryFile() throws Exception {
        try (LocalObjectStorage bucket = LocalObjectStorage.open(tmp.resolve("bucket"))) {
            try (DurableStreamStore a = builder(tmp.resolve("a")).objectStorage(bucket).build()) {
                Stream s = await(a.createStream(StreamOptions.defaults()));
                await(s.append(Campaigns.batch(4_000L)));
                await(a.flush());
                Path stale = temporaryFile(tmp.resolve("bucket"), "killed", clock.instant().minus(TTL).minusSeconds(1));
                try (DurableStreamStore b = builder(tmp.resolve("b")).objectStorage(bucket).build()) {
                    // b took the store over: a is fenced and must not delete what b may be writing
                    Throwable failure = catchThrowable(() -> await(a.compact()));
                    assertThat(stale).as("left alone by the fenced store").exists();
                    assertThat(failure).isInstanceOf(StreamFencedException.class);
                    await(b.compact());
                    assertThat(stale).as("the owner sweeps it").doesNotExist();
                }
            }
        }
    }

    @Test
    void abandonedS3MultipartUploadsAreAbortedOnceOlderThanTheOrphanTtl() throws Exception {
        S3.createBucket("sweep");
        URI uri = URI.create(S3.objectStoreUri("sweep", "store/") + "&partSizeBytes=" + S3Options.MIN_PART_SIZE_BYTES);
        ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();
        try (S3AsyncClient client = S3.newClient();
                ObjectStorage bucket = S3ObjectStorage.create(client, ObjectStorages.s3Options(uri),
                        new Retrier(RetryPolicy.defaults(), (task, delay) -> retries.schedule(task, delay, TimeUnit.NANOSECONDS),
                                System::nanoTime, new SplittableRandom(5)));
                DurableStreamStore store = builder(tmp.resolve("s3")).objectStorage(bucket).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            await(s.append(Campaigns.batch(5_000L)));
            await(store.flush());
            // a process killed mid-upload: created, one part sent, never completed nor aborted
            String killedKey = "store/" + dev.strata.objectstore.ObjectKeys.dataObjectKey(
                    dev.strata.objectstore.ObjectKeys.ObjectType.STREAM_SET, 987_654);
            String killed = client.createMultipartUpload(b -> b.bucket("sweep").key(killedKey)).join().uploadId();
            client.uploadPart(b -> b.bucket("sweep").key(killedKey).uploadId(killed).partNumber(1),
                    AsyncRequestBody.fromBytes(new byte[1024])).join();
            // another writer's upload under the same prefix (a backup tool, a store under a longer prefix)
            String foreign = client.createMultipartUpload(b -> b.bucket("sweep").key("store/backups/big.tar")).join()
                    .uploadId();

            await(store.compact());
            assertThat(uploads(client)).as("younger than the TTL: kept").containsExactlyInAnyOrder(killed, foreign);
            clock.advance(TTL.plusMinutes(5)); // the clock started before the upload did
            await(store.compact());
            assertThat(uploads(client)).as("older than the TTL: ours aborted, the other writer's kept")
                    .containsExactly(foreign);
        } finally {
            retries.shutdownNow();
        }
    }

    private static List<String> uploads(S3AsyncClient client) {
        return client.listMultipartUploads(b -> b.bucket("sweep")).join().uploads().stream()
                .map(MultipartUpload::uploadId).toList();
    }

    /** The directory of the first data object (where an upload's temporary file would be). */
    private static Path dataObjectDirectory(Path objects) throws Exception {
        try (var files = Files.walk(objects)) {
            return files.filter(Files::isRegularFile)
                    .filter(p -> dev.strata.objectstore.ObjectKeys.parseObjectId(
                            objects.relativize(p).toString().replace(java.io.File.separatorChar, '/')) >= 0)
                    .findFirst().orElseThrow().getParent();
        }
    }

    private static Path temporaryFile(Path dir, String name, Instant modified) throws Exception {
        Path file = dir.resolve(".strata-tmp-" + name);
        Files.write(file, new byte[8192]);
        Files.setLastModifiedTime(file, FileTime.from(modified));
        return file;
    }

    private static List<Path> temporaryFiles(Path root) throws Exception {
        try (var files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().startsWith(".strata-tmp-")).toList();
        }
    }
}
