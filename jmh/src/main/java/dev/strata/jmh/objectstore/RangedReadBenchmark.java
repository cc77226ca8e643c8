package dev.strata.jmh.objectstore;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.IndexEntry;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.ObjectWriter;
import dev.strata.objectstore.format.ObjectWriterOptions;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.format.WrittenObject;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ranged-read throughput through {@link ObjectReader#readBlocks} (one coalesced GET, CRC check and
 * batch framing of {@code blocksPerRead} 1 MiB blocks) versus a raw ranged GET of the same bytes
 * through the same {@link ObjectStorage}. Both read {@code blocksPerRead} MiB per operation from a
 * random block-aligned position of a 32 MiB object, so the ops/s ratio is the throughput ratio
 * (target: reader >= 90% of raw).
 *
 * <p>{@code storeUri}: {@code local} (a temporary directory) or an {@code s3://} URI of a local S3
 * server, e.g. the one {@code dev.strata.objectstore.testing.S3ProxyMain} (objectstore test-jar)
 * starts: {@code -p storeUri='s3://bench/r?endpoint=http://127.0.0.1:PORT&pathStyle=true&accessKey=strata-access&secretKey=strata-secret'}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class RangedReadBenchmark {

    static final int BLOCKS = 32;
    static final int BLOCK_BYTES = 1 << 20;
    static final int BATCH_PAYLOAD = 4096 - StreamBatchCodec.headerSize();

    @Param({"local"})
    public String storeUri;

    @Param({"4"})
    public int blocksPerRead;

    private Path dir;
    private ObjectStorage storage;
    private ObjectReader reader;
    private String key;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        if (storeUri.equals("local")) {
            dir = Files.createTempDirectory("strata-bench-objects");
            storage = ObjectStorages.fromUri(dir.toUri());
        } else {
            storage = ObjectStorages.fromUri(URI.create(storeUri));
        }
        key = "bench/ranged-" + System.nanoTime();
        ObjectWriter w = new ObjectWriter(storage.startUpload(key, PutCondition.none()),
                ObjectWriterOptions.builder().blockSizeBytes(BLOCK_BYTES).build());
        SplittableRandom random = new SplittableRandom(1);
        long offset = 0;
        int batches = BLOCKS * BLOCK_BYTES / 4096;
        for (int i = 0; i < batches; i++) {
            byte[] p = new byte[BATCH_PAYLOAD];
            random.nextBytes(p);
            ByteBuf pb = Unpooled.wrappedBuffer(p);
            w.append(StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 1, 1, offset, 10, 0, pb)).join();
            pb.release();
            offset += 10;
        }
        WrittenObject obj = w.finish().join();
        reader = ObjectReader.open(storage, key, obj.size()).join();
        System.out.printf("%n[setup] store=%s object=%s size=%d blocks=%d%n", storeUri.startsWith("s3") ? "s3" : "local",
                key, obj.size(), reader.index().size());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        storage.delete(List.of(key)).join();
        storage.close();
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @State(Scope.Thread)
    public static class Cursor {
        final SplittableRandom random = new SplittableRandom(7);
    }

    @Benchmark
    public int reader(Cursor cursor) {
        int first = cursor.random.nextInt(BLOCKS - blocksPerRead + 1);
        List<DataBlock> blocks = reader.readBlocks(first, first + blocksPerRead).join();
        int records = 0;
        for (DataBlock b : blocks) {
            records += b.recordCount();
            b.release();
        }
        return records;
    }

    @Benchmark
    public int rawRangedGet(Cursor cursor) {
        int first = cursor.random.nextInt(BLOCKS - blocksPerRead + 1);
        IndexEntry a = reader.index().entry(first);
        IndexEntry b = reader.index().entry(first + blocksPerRead - 1);
        ObjectData d = storage.get(key, ByteRange.of(a.position(), b.position() + b.size() - a.position())).join();
        try {
            return d.content().readableBytes();
        } finally {
            d.release();
        }
    }
}
