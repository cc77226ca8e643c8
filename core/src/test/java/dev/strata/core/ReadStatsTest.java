package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Catch-up read counters: what readers got from objects, and what it cost to load it (read amplification). */
class ReadStatsTest {
    @TempDir
    Path dir;

    private static long readAll(Stream s, long from) {
        long bytes = 0;
        long offset = from;
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 64 * 1024))) {
                for (FetchedBatch b : r.batches()) {
                    bytes += b.sizeBytes();
                    offset = b.nextOffset();
                }
            }
        }
        return bytes;
    }

    @Test
    void catchUpReadsCountReturnedAndLoadedBytesTailReadsDoNot() {
        long id;
        try (DurableStreamStore store = StoreFixtures.small(dir).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            id = s.id();
            DurableStreamStoreTest.appendDerived(s, 200);
        }
        try (DurableStreamStore store = StoreFixtures.small(dir).build()) { // closing uploaded everything
            Stream s = await(store.openStream(id, 1));
            ReadStats before = store.readStats();
            long returned = readAll(s, 0);
            ReadStats replay = store.readStats().minus(before);
            assertThat(replay.catchUpFetches()).isPositive();
            assertThat(replay.catchUpBytesReturned()).isEqualTo(returned);
            assertThat(replay.objectBytesLoaded()).as("every returned byte was loaded, with its framing")
                    .isGreaterThan(returned);
            assertThat(replay.readAmplification()).isGreaterThan(1.0).isLessThan(2.0);
            assertThat(replay.blockCacheMisses()).isPositive();

            ReadStats afterReplay = store.readStats();
            long tailFrom = s.nextOffset();
            DurableStreamStoreTest.appendDerived(s, 5);
            assertThat(readAll(s, tailFrom)).isPositive(); // served by the LogCache
            assertThat(store.readStats().minus(afterReplay).catchUpBytesReturned()).isZero();
        }
    }
}
