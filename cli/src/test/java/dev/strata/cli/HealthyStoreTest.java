package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.core.DurableStreamStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every subcommand on an intact store built with Strata.builder(): exit 0 and what it shows. */
class HealthyStoreTest {

    @TempDir
    static Path dir;
    static List<Long> streams;

    @BeforeAll
    static void buildStore() {
        streams = CliTestSupport.closedStore(dir, 3, 20);
    }

    @Test
    void verifyAndDeepVerifyExitZero() {
        CliTestSupport.Result r = run("verify", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("3 streams").contains("OK").doesNotContain("PROBLEM");

        CliTestSupport.Result deep = run("verify", "--deep", "--data-dir", dir);
        assertThat(deep.exitCode()).as(deep.toString()).isZero();
        assertThat(deep.out()).contains("every batch");
    }

    @Test
    void verifyJsonSaysOk() {
        CliTestSupport.Result r = run("verify", "--json", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("\"ok\": true").contains("\"problems\": []").contains("\"streams\": 3");
    }

    @Test
    void infoShowsFormatsStreamsObjectsAndBytes() {
        CliTestSupport.Result r = run("info", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("format 3").contains("streams:        3").contains("amplification")
                .contains("node epoch 1").containsPattern("objects: .*formats 1 \\(\\d+ objects\\)");
        CliTestSupport.Result j = run("info", "--json", "--data-dir", dir);
        assertThat(j.exitCode()).as(j.toString()).isZero();
        assertThat(j.out()).contains("\"formatVersion\": 3").contains("\"streams\": 3").contains("\"storedBytes\"")
                .containsPattern("\"formatVersions\": \\{\\s*\"1\": \\d+\\s*\\}");
    }

    @Test
    void streamsListsEveryStreamWithItsOffsets() {
        CliTestSupport.Result r = run("streams", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        for (long id : streams) {
            assertThat(r.out()).containsPattern("(?m)^" + id + " +0 +0 +20 ");
        }
        CliTestSupport.Result j = run("streams", "--json", "--data-dir", dir);
        assertThat(j.out()).contains("\"committedEndOffset\": 20");
    }

    @Test
    void dumpStreamShowsBatchesInTheRangeWithTheirPayload() {
        long id = streams.get(1);
        CliTestSupport.Result r = run("dump-stream", id, "--from", 5, "--to", 8, "--text", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("offsets=[5,6)").contains("offsets=[7,8)").doesNotContain("offsets=[8,9)")
                .doesNotContain("offsets=[4,5)").contains("s1-6-xxx").contains("3 batches, 3 records");
        CliTestSupport.Result hex = run("dump-stream", id, "--from", 0, "--to", 1, "--hex", "--data-dir", dir);
        assertThat(hex.out()).contains("73312d302d"); // "s1-0-"
    }

    @Test
    void dumpObjectShowsFooterIndexBlocksAndCodecs() {
        Path objects = dir.resolve("objects");
        String key = CliTestSupport.key(objects, CliTestSupport.dataObjects(objects).get(0));
        CliTestSupport.Result r = run("dump-object", key, "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("footer:").contains("version=1").contains("block 0: streamId=")
                .contains("codecs:").contains(" ok");
    }

    @Test
    void fsckFindsNothingOnAnIntactStore() {
        CliTestSupport.Result r = run("fsck", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("OK");
    }

    @Test
    void dumpWalOfACleanlyClosedStoreExitsZero() {
        CliTestSupport.Result r = run("dump-wal", dir.resolve("wal").resolve("strata.wal"));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("slot 0").contains("slot 1").contains("stopped: END_OF_LOG");
    }

    /** The end column counts what the WAL holds beyond the committed end, as a replay would accept it. */
    @Test
    void streamsShowsTheEndIncludingWhatOnlyTheWalHolds(@TempDir Path live) {
        try (DurableStreamStore store = CliTestSupport.builder(live).build()) {
            long id = CliTestSupport.fill(store, 1, 5).get(0);
            store.flush().join(); // offsets 0..4 committed to an object
            Stream s = store.openStream(id, 1).join();
            for (int i = 0; i < 3; i++) { // offsets 5..7 only in the WAL
                s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[] {(byte) i}))).join();
            }
            CliTestSupport.Result r = run("streams", "--data-dir", live);
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(r.out()).containsPattern("(?m)^" + id + " +1 +0 +5 +8 ");
            CliTestSupport.Result j = run("streams", "--json", "--object-store", live.resolve("objects").toUri());
            assertThat(j.out()).as("no WAL given: the end is unknown").contains("\"endOffset\": null")
                    .contains("\"committedEndOffset\": 5");
        }
    }

    /**
     * The tool takes no lock and writes nothing: it runs while a store has the directory open, that
     * store keeps working, and the object directory holds the same files before and after.
     */
    @Test
    void readsAStoreThatIsOpenElsewhereWithoutChangingIt(@TempDir Path live) throws IOException {
        try (DurableStreamStore store = CliTestSupport.builder(live).build()) {
            List<Long> ids = CliTestSupport.fill(store, 2, 5);
            store.flush().join();
            List<Path> before = listAll(live.resolve("objects"));
            for (String command : List.of("info", "streams", "verify", "fsck")) {
                CliTestSupport.Result r = run(command, "--data-dir", live);
                assertThat(r.exitCode()).as(command + ": " + r).isZero();
            }
            CliTestSupport.Result wal = run("dump-wal", live.resolve("wal").resolve("strata.wal"));
            assertThat(wal.exitCode()).as(wal.toString()).isZero();
            assertThat(listAll(live.resolve("objects"))).isEqualTo(before);
            assertThat(ids).hasSize(2);
            Stream s = store.createStream(dev.strata.api.StreamOptions.defaults()).join();
            assertThat(s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[] {1}))).join().baseOffset()).isZero();
        }
    }

    private static List<Path> listAll(Path root) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.walk(root)) {
            return files.sorted().toList();
        }
    }
}
