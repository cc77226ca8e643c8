package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.api.FetchResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.support.ThreadScheduling;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Strata.Builder#backgroundCpuPriority}: the catch-up read, block-cache and compaction threads
 * run at the priority, the threads appends wait for do not. Needs JDK 22+ on Linux (skipped on JDK
 * 17; the build runs it on its toolchain JDK, execution {@code test-toolchain-jdk}).
 */
class BackgroundCpuPriorityTest {
    @TempDir
    Path dir;

    @Test
    void catchUpReadsAndCompactionRunIdleWhileAppendsKeepTheirPriority() throws Exception {
        assumeTrue(ThreadScheduling.available(), "needs JDK 22+ with native access on Linux");
        ThreadStat testThread = ThreadStat.current();
        long streamId;
        long epoch;
        try (DurableStreamStore store = StoreFixtures.small(dir).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            streamId = s.id();
            epoch = s.epoch();
            for (int i = 0; i < 50; i++) {
                await(s.append(RecordBatch.of(1, i, ByteBuffer.wrap(new byte[1000]))));
            }
            await(store.flush());
        }
        long before = ThreadStat.highestTid(); // the threads of the store above are not this store's
        try (DurableStreamStore store = StoreFixtures.small(dir).backgroundCpuPriority(CpuPriority.IDLE).build()) {
            Stream s = await(store.openStream(streamId, epoch + 1));
            long fetched = 0;
            while (fetched < 50) { // reopened: the LogCache is empty, every batch comes from objects
                try (FetchResult r = await(s.fetch(fetched, 50, 1 << 20))) {
                    assertThat(r.batches()).as("batches from %d", fetched).isNotEmpty();
                    fetched = r.nextOffset(fetched);
                }
            }
            await(s.append(RecordBatch.of(1, 0, ByteBuffer.wrap(new byte[1000]))));
            await(store.compact());

            for (String background : List.of("strata-read", "strata-blockcac", "strata-compacti")) {
                List<ThreadStat> threads = mine(background, before);
                assertThat(threads).as(background + " threads of this store").isNotEmpty()
                        .allSatisfy(t -> assertThat(t.policy()).as(t.name()).isEqualTo(ThreadStat.SCHED_IDLE));
            }
            for (String foreground : List.of("strata-callbac", "strata-upload")) {
                List<ThreadStat> threads = mine(foreground, before);
                assertThat(threads).as(foreground + " threads of this store").isNotEmpty()
                        .allSatisfy(t -> assertThat(t.policy()).as(t.name()).isEqualTo(testThread.policy()))
                        .allSatisfy(t -> assertThat(t.nice()).as(t.name()).isEqualTo(testThread.nice()));
            }
        }
    }

    private static List<ThreadStat> mine(String prefix, long after) {
        return ThreadStat.named(prefix).stream().filter(t -> t.tid() > after).toList();
    }
}
