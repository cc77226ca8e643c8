package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.testkit.AckLedger;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupt objects in the bucket: acknowledged data is uploaded and committed, the store is closed,
 * one byte of one data object (under {@code dataDir/objects}) is flipped, and the store is opened
 * again so every read comes from objects. Every read then either returns the exact acknowledged
 * bytes or fails with {@link CorruptDataException}; a read that failed fails again: damaged bytes
 * are never cached as good, and intact data is never reported corrupt (RELIABILITY.md bug 6, see
 * {@link #corruptBlockDoesNotFailReadsOfIntactBlocksInTheSameRangedRead}); the stream stays
 * writable and tail-readable. At least one read must
 * notice each flip: every byte of an object is covered by a CRC (block, index or footer).
 * CI: 12 rounds; long: 200.
 */
class CorruptObjectCampaignTest {
    private static final int ROUNDS = Campaigns.rounds(12, 200);
    private static final int STREAMS = 3;
    private static final int BATCHES = 40;

    @TempDir
    Path tmp;

    @Test
    void flippedObjectBytesAreDetectedAndNeverReturned() throws IOException {
        campaign(0, ROUNDS);
    }

    /**
     * Regression test for RELIABILITY.md bug 6: a fetch of intact blocks that were read in the same
     * ranged read as a damaged block failed with CorruptDataException, and the same fetch then
     * succeeded with exact bytes (8 times in 200 rounds, e.g. round 133 of the default seed: "stream
     * 3 fetch at 0 failed with data block CRC mismatch: object=c42c/sso/00000000004294967296
     * block=23 ..., but the same fetch then returned base=0 exact=true ..."). Which blocks share a
     * ranged read depends on timing, so this runs many rounds: 100 in CI (about 4% of rounds hit
     * the bug, so 100 rounds miss a regression with probability under 2%), 200 in the long run
     * (35 to 77 s on 2 cores, depending on what else runs).
     * The unit tests at the layers that were fixed are
     * {@code ObjectReaderTest#aDamagedBlockFailsOnlyItselfAndNotTheIntactBlocksOfTheSameGet} and
     * {@code BlockCacheTest#aDamagedBlockInALoadedRunFailsOnlyItsOwnReaders}.
     */
    @Test
    void corruptBlockDoesNotFailReadsOfIntactBlocksInTheSameRangedRead() throws IOException {
        campaign(0, Campaigns.rounds(100, 200));
    }

    private void campaign(int firstRound, int rounds) throws IOException {
        long verified = 0;
        long detections = 0;
        for (int round = firstRound; round < firstRound + rounds; round++) {
            long seed = Campaigns.BASE_SEED + round;
            SplittableRandom random = new SplittableRandom(seed);
            Path dir = tmp.resolve("round-" + round);
            AckLedger ledger = new AckLedger();
            List<Long> ids = new ArrayList<>();
            try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
                List<Stream> streams = new ArrayList<>();
                for (int i = 0; i < STREAMS; i++) {
                    Stream s = await(store.createStream(StreamOptions.defaults()));
                    streams.add(s);
                    ids.add(s.id());
                }
                for (int b = 0; b < BATCHES; b++) {
                    for (Stream s : streams) {
                        long batchSeed = seed * 1_000_000L + s.id() * 1000 + b;
                        long base = await(s.append(Campaigns.batch(batchSeed))).baseOffset();
                        ledger.ack(s.id(), base, batchSeed);
                    }
                }
                await(store.flush());
            }
            String context = "round " + round + " seed " + seed;
            Path object = pickDataObject(dir.resolve("objects"), random);
            long size = Files.size(object);
            long position = random.nextBoolean() ? random.nextLong(size) : size - 1 - random.nextLong(Math.min(size, 64));
            flipBit(object, position, random.nextInt(8));
            String where = context + " flipped " + dir.relativize(object) + " at " + position + " of " + size;

            int roundDetections = 0;
            try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
                for (long id : ids) {
                    Stream s = await(store.openStream(id, 1));
                    long offset = s.startOffset();
                    TreeMap<Long, Long> acked = ledger.of(id);
                    while (offset < s.nextOffset()) {
                        FetchResult r;
                        try {
                            r = await(s.fetch(offset, Long.MAX_VALUE, 16 * 1024));
                        } catch (CorruptDataException e) {
                            roundDetections++;
                            Throwable again = null;
                            try (FetchResult second = await(s.fetch(offset, Long.MAX_VALUE, 16 * 1024))) {
                                StringBuilder got = new StringBuilder();
                                for (FetchedBatch b : second.batches()) {
                                    byte[] bytes = new byte[b.sizeBytes()];
                                    b.payload().get(bytes);
                                    got.append(" base=").append(b.baseOffset()).append(" exact=")
                                            .append(acked.get(b.baseOffset()) != null
                                                    && java.util.Arrays.equals(bytes, Campaigns.payload(acked.get(b.baseOffset()))));
                                }
                                throw new AssertionError(where + ": stream " + id + " fetch at " + offset
                                        + " failed with " + e.getMessage() + ", but the same fetch then returned" + got);
                            } catch (CorruptDataException expected) {
                                again = expected;
                            }
                            assertThat(again).as("%s: a corrupt read stays corrupt", where).isNotNull();
                            break; // the rest of this stream may sit in the same damaged block
                        }
                        try (r) {
                            assertThat(r.batches()).as(where).isNotEmpty();
                            for (FetchedBatch b : r.batches()) {
                                byte[] bytes = new byte[b.sizeBytes()];
                                b.payload().get(bytes);
                                assertThat(acked.get(b.baseOffset())).as("%s: stream %d batch at %d", where, id, b.baseOffset())
                                        .isNotNull();
                                assertThat(bytes).as("%s: exact bytes of stream %d at %d", where, id, b.baseOffset())
                                        .isEqualTo(Campaigns.payload(acked.get(b.baseOffset())));
                                verified++;
                                offset = b.nextOffset();
                            }
                        }
                    }
                    // The damaged stream stays usable: appends and tail reads work.
                    long tailSeed = seed * 1_000_000L + id * 1000 + 999;
                    long base = await(s.append(Campaigns.batch(tailSeed))).baseOffset();
                    try (FetchResult tail = await(s.fetch(base, Long.MAX_VALUE, 1))) {
                        byte[] bytes = new byte[tail.batches().get(0).sizeBytes()];
                        tail.batches().get(0).payload().get(bytes);
                        assertThat(bytes).isEqualTo(Campaigns.payload(tailSeed));
                    }
                }
            }
            assertThat(roundDetections).as("%s: some read must notice the flipped byte", where).isPositive();
            detections += roundDetections;
        }
        Campaigns.report("CorruptObjectCampaignTest", "rounds=" + rounds + " batchesVerified=" + verified
                + " corruptionsDetected=" + detections + " intactDataReportedCorrupt=0 wrongBytesReturned=0");
    }

    /**
     * A damaged manifest file is never silently skipped: opening the store fails, the failure carries
     * a {@link CorruptDataException} naming the file, is not retriable (retrying cannot repair it),
     * and nothing is served from a state that lacks committed data. Every byte of the newest
     * manifest entry is flipped in turn (one seeded bit each).
     */
    @Test
    void flippedManifestBytesFailOpenAndAreNeverSilentlyAccepted() throws IOException {
        int cases = flipEveryManifestByte(e -> {
            assertThat(e).hasMessageContaining("manifest/log/").satisfiesAnyOf(
                    x -> assertThat(x).isInstanceOf(CorruptDataException.class),
                    x -> assertThat(x).hasRootCauseInstanceOf(CorruptDataException.class));
            assertThat(((dev.strata.api.StrataException) e).isRetriable()).isFalse();
        });
        Campaigns.report("CorruptObjectCampaignTest.manifest", "cases=" + cases + " silentlyAccepted=0");
    }

    /** The exact type Strata.Builder#build documents for a damaged manifest. */
    @Test
    void flippedManifestBytesFailOpenWithDocumentedCorruptDataException() throws IOException {
        flipEveryManifestByte(e -> assertThat(e).isInstanceOf(CorruptDataException.class));
    }

    private int flipEveryManifestByte(java.util.function.Consumer<Throwable> check) throws IOException {
        Path dir = tmp.resolve("manifest");
        try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            await(s.append(Campaigns.batch(7)));
            await(store.flush());
        }
        Path newest;
        try (java.util.stream.Stream<Path> files = Files.walk(dir.resolve("objects"))) {
            newest = files.filter(Files::isRegularFile)
                    .filter(p -> dir.resolve("objects").relativize(p).toString().startsWith("manifest/log/"))
                    .max(java.util.Comparator.naturalOrder()).orElseThrow();
        }
        byte[] pristine = Files.readAllBytes(newest);
        SplittableRandom random = new SplittableRandom(Campaigns.BASE_SEED);
        int cases = 0;
        for (int position = 0; position < pristine.length; position++) {
            byte[] damaged = pristine.clone();
            damaged[position] ^= (byte) (1 << random.nextInt(8));
            Files.write(newest, damaged);
            Throwable thrown = null;
            try {
                StoreFixtures.campaign(dir).build().close();
            } catch (RuntimeException e) {
                thrown = e;
            }
            assertThat(thrown).as("manifest %s flipped at %d of %d: open must fail", newest.getFileName(), position,
                    pristine.length).isNotNull();
            check.accept(thrown);
            cases++;
        }
        Files.write(newest, pristine);
        try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
            assertThat(await(store.openStream(1, 1)).nextOffset()).isEqualTo(Campaigns.count(7));
        }
        return cases;
    }

    /** A random data object (stream-set or stream object), not a manifest file. */
    static Path pickDataObject(Path objects, SplittableRandom random) throws IOException {
        List<Path> data;
        try (java.util.stream.Stream<Path> files = Files.walk(objects)) {
            data = files.filter(Files::isRegularFile)
                    .filter(p -> objects.relativize(p).toString().contains("/sso/")
                            || objects.relativize(p).toString().contains("/so/"))
                    .sorted()
                    .toList();
        }
        assertThat(data).as("data objects under %s", objects).isNotEmpty();
        return data.get(random.nextInt(data.size()));
    }

    static void flipBit(Path file, long position, int bit) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(position);
            int b = f.read();
            f.seek(position);
            f.write(b ^ (1 << bit));
        }
    }
}
