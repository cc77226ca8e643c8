package dev.strata.core.golden;

import dev.strata.api.AppendResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The child JVM of {@link GoldenStoreGenerator}: writes a small store through the public API only
 * ({@link Strata#builder()}, {@link DurableStreamStore}, {@link Stream}), so that the WAL, the objects
 * and the manifest all carry data, then writes the expected records and prints {@code READY}; the
 * generator then kills it with SIGKILL, so that the last appends stay only in the WAL (a crash: no
 * close, no final upload).
 *
 * <p>The script, with a fixed seed (the same store on every run, up to object keys' node epoch and
 * data times):
 * <ol>
 *   <li>five streams; appends of 1 byte to 6 KiB (1 to 5 records each) to each; stream 3 gets
 *       enough bytes for a stream object of its own; {@code flush()} (a stream-set object and a stream
 *       object);</li>
 *   <li>stream 5 trimmed to the base of its fourth batch; stream 4 deleted; {@code compact()} (with
 *       a zero split age and grace period: stream-set data split into stream objects, the deleted
 *       stream's data dropped, replaced objects deleted);</li>
 *   <li>more appends to streams 1, 2 and 5; {@code flush()} (a stream-set object);</li>
 *   <li>a sixth stream; appends to streams 1, 2, 3 and 6 that are acknowledged (in the WAL) and never
 *       uploaded.</li>
 * </ol>
 * Arguments: the data directory, then the file to write the expectations to ({@link GoldenExpectations}).
 */
public final class GoldenStoreWriter {
    /** The WAL file's capacity: small, so the committed store stays small (the WAL is stored gzipped). */
    static final long WAL_CAPACITY_BYTES = 1L << 20;
    private static final long SEED = 20261207L;

    private final Random random = new Random(SEED);
    private final GoldenExpectations expected = new GoldenExpectations();

    private GoldenStoreWriter() {
    }

    /** Opens the store as the generator's child does. */
    static Strata.Builder builder(Path dataDir) {
        return Strata.builder().dataDir(dataDir)
                .walCapacity(WAL_CAPACITY_BYTES)
                .uploadThresholdBytes(WAL_CAPACITY_BYTES / 4) // never reached: uploads only by flush()
                .uploadInterval(Duration.ofDays(1))
                .streamObjectThresholdBytes(32 * 1024)
                .compactionInterval(Duration.ZERO)
                .streamSetSplitAge(Duration.ZERO)
                .garbageGracePeriod(Duration.ZERO)
                .orphanTtl(Duration.ofDays(1));
    }

    public static void main(String[] args) throws IOException {
        new GoldenStoreWriter().run(Path.of(args[0]), Path.of(args[1]));
    }

    private void run(Path dataDir, Path expectationsFile) throws IOException {
        DurableStreamStore store = builder(dataDir).build(); // never closed: the generator kills this JVM
        List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            streams.add(store.createStream(StreamOptions.defaults()).join());
        }
        for (Stream s : streams) {
            appendSome(s, s.id() == 3 ? 12 : 6, s.id() == 3 ? 6 * 1024 : 3 * 1024);
        }
        store.flush().join();

        Stream trimmed = streams.get(4);
        long trimTo = expected.records(trimmed.id()).get(3).base();
        trimmed.trim(trimTo).join();
        expected.trim(trimmed.id(), trimTo);
        Stream deleted = streams.get(3);
        store.deleteStream(deleted.id(), deleted.epoch()).join();
        expected.delete(deleted.id());
        store.compact().join();

        for (Stream s : List.of(streams.get(0), streams.get(1), streams.get(4))) {
            appendSome(s, 5, 2 * 1024);
        }
        store.flush().join();

        Stream walOnly = store.createStream(StreamOptions.defaults()).join();
        streams.add(walOnly);
        for (Stream s : List.of(streams.get(0), streams.get(1), streams.get(2), walOnly)) {
            appendSome(s, 4, 1024);
        }
        expected.write(expectationsFile);
        System.out.println("READY");
        System.out.flush();
        while (true) { // the generator kills this JVM now; never close (that would upload the WAL's data)
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** {@code batches} appends to {@code s} of 1 to 5 records and 1 to {@code maxBytes} bytes, each acknowledged. */
    private void appendSome(Stream s, int batches, int maxBytes) {
        for (int i = 0; i < batches; i++) {
            int count = 1 + random.nextInt(5);
            byte[] payload = new byte[1 + random.nextInt(maxBytes)];
            random.nextBytes(payload);
            long timestamp = 1_700_000_000_000L + random.nextInt(1_000_000);
            AppendResult r = s.append(RecordBatch.of(count, timestamp, ByteBuffer.wrap(payload))).join();
            expected.record(s.id(), new GoldenExpectations.Batch(r.baseOffset(), count, timestamp,
                    GoldenExpectations.sha256(payload), payload.length));
        }
    }
}
