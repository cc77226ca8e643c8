package dev.strata.jmh.objectstore;

import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.format.CompressionCodec;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.ObjectWriter;
import dev.strata.objectstore.format.ObjectWriterOptions;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.format.WrittenObject;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
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
 * Encode and decode throughput of one 1 MiB data block (256 batches of 4 KiB encoded) per codec
 * and payload kind. One operation is exactly 1 MiB of raw batches, so <b>ops/s = MiB/s</b>.
 * The compression ratio (raw / stored) of each configuration is printed at setup.
 *
 * <p>Encode runs the public path core uses at upload: {@link ObjectWriter#append} of the encoded
 * batches and {@code finish()}, into an upload that drops the bytes. Decode is
 * {@link DataBlock#decode} (header, CRC32C, decompression, batch framing) of the stored block.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class BlockCodecBenchmark {

    /** Raw bytes per operation: 256 batches x 4 KiB. */
    static final int BATCHES = 256;
    static final int BATCH_BYTES = 4096;
    static final int PAYLOAD_BYTES = BATCH_BYTES - StreamBatchCodec.headerSize();

    @Param({"NONE", "LZ4", "ZSTD"})
    public String codec;

    @Param({"telemetry", "random"})
    public String payload;

    private final List<ByteBuf> batches = new ArrayList<>();
    private ByteBuf storedBlock;

    /** JSON-like IoT telemetry: records of devices, readings and timestamps, with realistic repetition. */
    static byte[] telemetry(SplittableRandom random, int size) {
        StringBuilder sb = new StringBuilder(size + 256);
        long ts = 1_763_000_000_000L;
        while (sb.length() < size) {
            ts += random.nextInt(50);
            sb.append("{\"ts\":").append(ts)
                    .append(",\"device\":\"sensor-").append(random.nextInt(500))
                    .append("\",\"site\":\"plant-").append(random.nextInt(8))
                    .append("\",\"temp_c\":").append(15 + random.nextInt(200) / 10.0)
                    .append(",\"humidity\":").append(30 + random.nextInt(50))
                    .append(",\"status\":\"").append(random.nextInt(20) == 0 ? "WARN" : "OK").append("\"}\n");
        }
        byte[] out = new byte[size];
        System.arraycopy(sb.toString().getBytes(StandardCharsets.UTF_8), 0, out, 0, size);
        return out;
    }

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < BATCHES; i++) {
            byte[] p;
            if (payload.equals("telemetry")) {
                p = telemetry(random, PAYLOAD_BYTES);
            } else {
                p = new byte[PAYLOAD_BYTES];
                random.nextBytes(p);
            }
            ByteBuf pb = Unpooled.wrappedBuffer(p);
            batches.add(StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 7, 1, (long) i * 10, 10, 0, pb));
            pb.release();
        }
        Capture capture = new Capture();
        WrittenObject obj = encodeInto(capture);
        storedBlock = capture.bytes.retainedSlice(0, obj.index().entry(0).size());
        capture.bytes.release();
        System.out.printf("%n[ratio] codec=%s payload=%s raw=%d stored=%d ratio=%.2f%n", codec, payload,
                BATCHES * BATCH_BYTES, storedBlock.readableBytes(),
                (double) (BATCHES * BATCH_BYTES) / storedBlock.readableBytes());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        batches.forEach(ByteBuf::release);
        storedBlock.release();
    }

    private WrittenObject encodeInto(ObjectUpload upload) {
        ObjectWriter w = new ObjectWriter(upload, ObjectWriterOptions.builder()
                .codec(CompressionCodec.valueOf(codec)).blockSizeBytes(BATCHES * BATCH_BYTES).build());
        for (ByteBuf b : batches) {
            w.append(b.retainedDuplicate());
        }
        return w.finish().join();
    }

    @Benchmark
    public long encode() {
        return encodeInto(new Discard()).size();
    }

    @Benchmark
    public int decode() {
        DataBlock block = DataBlock.decode(storedBlock, PooledByteBufAllocator.DEFAULT, "bench", 0);
        try {
            return block.recordCount();
        } finally {
            block.release();
        }
    }

    /** An upload that releases what it is given. */
    static class Discard implements ObjectUpload {
        long written;

        @Override
        public String key() {
            return "bench";
        }

        @Override
        public CompletableFuture<Void> write(ByteBuf data) {
            written += data.readableBytes();
            data.release();
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public long bytesWritten() {
            return written;
        }

        @Override
        public CompletableFuture<ObjectInfo> complete() {
            return CompletableFuture.completedFuture(new ObjectInfo("bench", written, null));
        }

        @Override
        public CompletableFuture<Void> abort() {
            return CompletableFuture.completedFuture(null);
        }
    }

    /** An upload that keeps the bytes (setup only). */
    static final class Capture extends Discard {
        final CompositeByteBuf bytes = PooledByteBufAllocator.DEFAULT.compositeDirectBuffer(Integer.MAX_VALUE);

        @Override
        public CompletableFuture<Void> write(ByteBuf data) {
            written += data.readableBytes();
            bytes.addComponent(true, data);
            return CompletableFuture.completedFuture(null);
        }
    }
}
