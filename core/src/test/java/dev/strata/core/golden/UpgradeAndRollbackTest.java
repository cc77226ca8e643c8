package dev.strata.core.golden;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.AppendResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Upgrade and rollback (docs/operations.md, "Upgrades and rollback"): today's build opens a golden
 * store written by an earlier build, appends to its streams and to a new one (some of it uploaded by
 * {@code flush()}, the rest by the clean close), closes, and then:
 * <ul>
 *   <li><b>upgrade</b>: the reopened store reads the golden store's records and the new ones, at their
 *       offsets;</li>
 *   <li><b>rollback</b>: for the newest golden store, every file of the store after the append (the
 *       WAL's header slots, every object, every manifest file) carries the same format versions as the
 *       golden store: the build that wrote the golden store reads them, which is what makes rolling
 *       back to it safe (docs/formats.md: a reader refuses a version it does not know). A build that
 *       changes a format fails here until a golden store of the new versions is generated, which is
 *       the point: a format change must be a deliberate new version, with its own golden store.</li>
 * </ul>
 */
class UpgradeAndRollbackTest {

    @TempDir
    Path tmp;

    static List<GoldenStores.Golden> goldenStores() throws Exception {
        return GoldenStores.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenStores")
    void openAppendCloseKeepsOldAndNewRecordsAndTheFormatVersions(GoldenStores.Golden golden) throws Exception {
        Path dataDir = GoldenStores.copy(golden, tmp.resolve("store"));
        GoldenExpectations expected = GoldenExpectations.read(golden.dir().resolve(GoldenExpectations.FILE_NAME));
        long epoch = 1;
        try (DurableStreamStore store = GoldenStoreCompatibilityTest.open(golden, dataDir)) {
            List<Long> live = expected.streams().stream().filter(id -> !expected.isDeleted(id)).toList();
            for (long id : live) {
                Stream s = await(store.openStream(id, epoch));
                append(s, expected, 3, "upgraded-flushed");
            }
            Stream created = await(store.createStream(StreamOptions.defaults()));
            append(created, expected, 4, "new-stream-flushed");
            await(store.flush());
            for (long id : live) {
                append(await(store.openStream(id, epoch + 1)), expected, 2, "upgraded-at-close");
            }
            append(created, expected, 2, "new-stream-at-close");
        }

        FormatVersions after = FormatVersions.of(GoldenStores.walFile(dataDir), GoldenStores.objectsDir(dataDir));
        if (golden.equals(newest())) {
            assertThat(after.directoryName())
                    .as("files written by today's build carry the golden store's versions, so its build reads"
                            + " them (rollback); a format change needs a new golden store (GoldenStoreGenerator)")
                    .isEqualTo(golden.name());
        }
        try (DurableStreamStore store = GoldenStoreCompatibilityTest.open(golden, dataDir)) {
            GoldenStoreCompatibilityTest.checkEveryRecord(expected, store, epoch + 2);
        }
    }

    /** The golden store with the highest versions (WAL, then object, then manifest). */
    private static GoldenStores.Golden newest() throws Exception {
        return GoldenStores.all().stream().max(Comparator.<GoldenStores.Golden>comparingInt(g -> g.version("wal"))
                .thenComparingInt(g -> g.version("object")).thenComparingInt(g -> g.version("manifest")))
                .orElseThrow();
    }

    /** {@code batches} appends of one to three records to {@code s}, recorded in {@code expected}. */
    private static void append(Stream s, GoldenExpectations expected, int batches, String label) {
        for (int i = 0; i < batches; i++) {
            int count = 1 + i % 3;
            byte[] payload = (label + " stream=" + s.id() + " batch=" + i).repeat(1 + i * 7).getBytes(StandardCharsets.UTF_8);
            long timestamp = 1_800_000_000_000L + i;
            AppendResult r = await(s.append(RecordBatch.of(count, timestamp, ByteBuffer.wrap(payload))));
            expected.record(s.id(), new GoldenExpectations.Batch(r.baseOffset(), count, timestamp,
                    GoldenExpectations.sha256(payload), payload.length));
        }
    }
}
