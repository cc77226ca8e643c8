package dev.strata.core.golden;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamNotFoundException;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden store committed under {@code src/test/resources/golden/} (one per set of format
 * versions, written by {@link GoldenStoreGenerator} with the build of its time) opens with today's
 * build, and every acknowledged record is read at its offset with its exact content: the batches
 * in its objects, those only in its WAL (replayed at open), the trim and the delete. Then once more
 * after a clean close and reopen (everything now from objects). A new format version adds a directory,
 * and this test covers it with no change.
 */
class GoldenStoreCompatibilityTest {

    @TempDir
    Path tmp;

    static List<GoldenStores.Golden> goldenStores() throws Exception {
        List<GoldenStores.Golden> all = GoldenStores.all();
        assertThat(all).as("golden stores under src/test/resources/golden").isNotEmpty();
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenStores")
    void todaysBuildReadsEveryRecordOfTheGoldenStore(GoldenStores.Golden golden) throws Exception {
        Path dataDir = GoldenStores.copy(golden, tmp.resolve("store"));
        FormatVersions inFiles = FormatVersions.of(GoldenStores.walFile(dataDir), GoldenStores.objectsDir(dataDir));
        assertThat(inFiles.directoryName()).as("the directory is named by the versions its files carry")
                .isEqualTo(golden.name());

        long epoch = 1;
        try (DurableStreamStore store = open(golden, dataDir)) {
            assertThat(store.recoveryReport().recordsReplayed()).as("the golden store has acknowledged data only in its WAL")
                    .isPositive();
            checkEveryRecord(golden.expected(), store, epoch);
        }
        try (DurableStreamStore store = open(golden, dataDir)) {
            checkEveryRecord(golden.expected(), store, epoch + 1);
        }
    }

    static DurableStreamStore open(GoldenStores.Golden golden, Path dataDir) {
        return Strata.builder().dataDir(dataDir).walCapacity(golden.walCapacityBytes()).build();
    }

    /** Every stream of {@code expected} read from its start to its end at {@code epoch}. */
    static void checkEveryRecord(GoldenExpectations expected, DurableStreamStore store, long epoch) {
        for (long id : expected.streams()) {
            if (expected.isDeleted(id)) {
                assertThatThrownBy(() -> await(store.openStream(id, epoch)))
                        .as("deleted stream %d", id).isInstanceOf(StreamNotFoundException.class);
                continue;
            }
            Stream s = await(store.openStream(id, epoch));
            assertThat(s.startOffset()).as("stream %d start", id).isEqualTo(expected.start(id));
            assertThat(s.nextOffset()).as("stream %d end", id).isEqualTo(expected.next(id));
            assertThat(readAll(s)).as("stream %d batches", id).containsExactlyElementsOf(expected.readable(id));
            await(s.close());
        }
    }

    /** The stream's batches from its start to its end, as expectation lines. */
    static List<GoldenExpectations.Batch> readAll(Stream s) {
        List<GoldenExpectations.Batch> out = new ArrayList<>();
        long offset = s.startOffset();
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 64 * 1024))) {
                assertThat(r.batches()).as("a fetch at %d below the end returns a batch", offset).isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().duplicate().get(bytes);
                    out.add(new GoldenExpectations.Batch(b.baseOffset(), b.count(), b.baseTimestamp(),
                            GoldenExpectations.sha256(bytes), bytes.length));
                    offset = b.nextOffset();
                }
            }
        }
        return out;
    }
}
