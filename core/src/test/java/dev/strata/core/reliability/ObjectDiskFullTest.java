package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.StorageException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.objectstore.testing.TinyTmpfs;
import dev.strata.testkit.AckLedger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 item 13: the object directory's disk is full (a real 1 MiB tmpfs; skipped where the test
 * may not mount one). {@code flush()} fails with a retriable {@link StorageException} that says so,
 * and once space is freed the same data uploads and reads back.
 */
class ObjectDiskFullTest {
    @TempDir
    Path tmp;

    @Test
    void flushOnAFullDiskFailsRetriableAndSucceedsOnceSpaceIsFreed() throws Exception {
        AckLedger ledger = new AckLedger();
        try (TinyTmpfs fs = TinyTmpfs.mount(tmp.resolve("objects"), 1 << 20);
                DurableStreamStore store = StoreFixtures.campaign(tmp.resolve("store"))
                        .objectStore(fs.dir().toUri())
                        .uploadInterval(Duration.ofHours(1)) // uploads only at flush()
                        .uploadThresholdBytes(2L << 20)
                        .logCacheBytes(8L << 20)
                        .build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            for (int b = 0; b < 800; b++) { // ~1.6 MiB of incompressible payloads: more than the file system holds
                long seed = 6_000L + b;
                ledger.ack(s.id(), await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
            }
            Throwable failure = null;
            try {
                await(store.flush());
            } catch (CompletionException | StorageException e) {
                failure = e instanceof CompletionException ? e.getCause() : e;
            }
            assertThat(failure).isInstanceOf(StorageException.class).hasMessageContaining("No space left on device");
            assertThat(((StorageException) failure).isRetriable()).as("a full disk is retriable: %s", failure).isTrue();

            fs.resize(64L << 20); // the operator frees space
            await(store.flush());
            Campaigns.verifyAcknowledged(s, ledger, "after the disk had room again");
        }
    }
}
