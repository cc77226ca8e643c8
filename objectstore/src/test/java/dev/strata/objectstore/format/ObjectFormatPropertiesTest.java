package dev.strata.objectstore.format;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.CorruptDataException;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.testing.InMemoryObjectStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletionException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Random objects (streams, offsets, batch sizes, codecs, block sizes, tail guesses) read back
 * exactly; random corruption and truncation give CorruptDataException or exactly the written data,
 * never anything else.
 */
class ObjectFormatPropertiesTest {

    record BatchSpec(int count, long timestamp, byte[] payload) {
    }

    record StreamSpec(long streamId, long epoch, long startOffset, List<BatchSpec> batches) {
    }

    /** One expected batch, as the reader should return it. */
    record Expected(long streamId, long epoch, long baseOffset, int count, long timestamp, String payloadHex) {
        static Expected of(StreamBatch b) {
            return new Expected(b.streamId(), b.epoch(), b.baseOffset(), b.count(), b.baseTimestamp(),
                    ByteBufUtil.hexDump(b.payload()));
        }
    }

    @Provide
    Arbitrary<List<StreamSpec>> objects() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMinSize(0).ofMaxSize(3000);
        Arbitrary<byte[]> telemetry = Arbitraries.integers().between(0, 40).map(n -> {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                sb.append("{\"device\":\"d-").append(i % 7).append("\",\"temp\":").append(20 + i % 5).append("}");
            }
            return sb.toString().getBytes(StandardCharsets.UTF_8);
        });
        Arbitrary<BatchSpec> batch = Combinators.combine(Arbitraries.integers().between(1, 1000), Arbitraries.longs(),
                Arbitraries.oneOf(random, telemetry)).as(BatchSpec::new);
        Arbitrary<StreamSpec> stream = Combinators.combine(Arbitraries.longs().between(0, 50),
                Arbitraries.longs().between(0, 5), Arbitraries.longs().between(0, 1L << 40),
                batch.list().ofMinSize(1).ofMaxSize(12)).as(StreamSpec::new);
        return stream.list().ofMinSize(0).ofMaxSize(5).uniqueElements(StreamSpec::streamId);
    }

    @Provide
    Arbitrary<List<StreamSpec>> nonEmptyObjects() {
        return objects().filter(l -> !l.isEmpty());
    }

    /** Writes the object; returns the expected batches in index order (by stream id, then offset). */
    static List<Expected> write(InMemoryObjectStorage storage, String key, List<StreamSpec> spec,
                                CompressionCodec codec, int blockSize) {
        ObjectWriter w = new ObjectWriter(storage.startUpload(key, PutCondition.none()),
                ObjectWriterOptions.builder().codec(codec).blockSizeBytes(blockSize).build());
        List<Expected> expected = new ArrayList<>();
        for (StreamSpec s : spec) {
            long offset = s.startOffset();
            for (BatchSpec b : s.batches()) {
                ByteBuf payload = Unpooled.wrappedBuffer(b.payload());
                ByteBuf encoded = StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, s.streamId(), s.epoch(),
                        offset, b.count(), b.timestamp(), payload);
                payload.release();
                expected.add(new Expected(s.streamId(), s.epoch(), offset, b.count(), b.timestamp(),
                        ByteBufUtil.hexDump(b.payload())));
                w.append(encoded).join();
                offset += b.count();
            }
        }
        w.finish().join();
        expected.sort((a, b) -> a.streamId() != b.streamId() ? Long.compare(a.streamId(), b.streamId())
                : Long.compare(a.baseOffset(), b.baseOffset()));
        return expected;
    }

    /** Opens and reads every block; returns the batches in index order. */
    static List<Expected> readAll(InMemoryObjectStorage storage, String key, long size, int tailGuess) {
        ObjectReader reader = ObjectReader.open(storage, key, size, tailGuess).join();
        List<Expected> out = new ArrayList<>();
        if (reader.index().size() == 0) {
            return out;
        }
        List<DataBlock> blocks = reader.readBlocks(0, reader.index().size()).join();
        try {
            for (DataBlock block : blocks) {
                for (StreamBatch b : block.batches()) {
                    out.add(Expected.of(b.verifyChecksum("property")));
                }
            }
        } finally {
            blocks.forEach(DataBlock::release);
        }
        return out;
    }

    @Property(tries = 150)
    void writtenObjectsReadBackExactly(@ForAll("objects") List<StreamSpec> spec, @ForAll CompressionCodec codec,
                                       @ForAll @IntRange(min = 1024, max = 16384) int blockSize,
                                       @ForAll @IntRange(min = 32, max = 4096) int tailGuess,
                                       @ForAll boolean sizeKnown) {
        InMemoryObjectStorage storage = new InMemoryObjectStorage();
        List<Expected> expected = write(storage, "obj", spec, codec, blockSize);
        long size = sizeKnown ? storage.bytes("obj").length : -1;
        assertThat(readAll(storage, "obj", size, tailGuess)).isEqualTo(expected);

        ObjectIndex index = ObjectReader.open(storage, "obj", size, tailGuess).join().index();
        List<StreamRange> ranges = index.streamRanges();
        assertThat(ranges).hasSize(spec.size());
        for (StreamSpec s : spec) {
            long end = s.startOffset() + s.batches().stream().mapToLong(BatchSpec::count).sum();
            assertThat(ranges).anySatisfy(r -> {
                assertThat(r.streamId()).isEqualTo(s.streamId());
                assertThat(r.startOffset()).isEqualTo(s.startOffset());
                assertThat(r.endOffset()).isEqualTo(end);
            });
            for (long probe : new long[] {s.startOffset(), (s.startOffset() + end) / 2, end - 1}) {
                int block = index.findBlock(s.streamId(), probe);
                assertThat(index.entry(block).contains(s.streamId(), probe)).isTrue();
                assertThat(index.findBlockAtOrAfter(s.streamId(), probe)).isEqualTo(block);
            }
            assertThat(index.findBlock(s.streamId(), end)).isEqualTo(-1);
            assertThat(index.findBlock(s.streamId(), s.startOffset() - 1)).isEqualTo(-1);
        }
    }

    @Property(tries = 300)
    void corruptionGivesCorruptDataExceptionOrCorrectData(@ForAll("nonEmptyObjects") List<StreamSpec> spec,
                                                          @ForAll CompressionCodec codec,
                                                          @ForAll @IntRange(min = 1, max = 4) int flips,
                                                          @ForAll long seed, @ForAll boolean sizeKnown) {
        InMemoryObjectStorage storage = new InMemoryObjectStorage();
        List<Expected> expected = write(storage, "obj", spec, codec, 2048);
        byte[] bytes = storage.bytes("obj");
        Random random = new Random(seed);
        for (int i = 0; i < flips; i++) {
            bytes[random.nextInt(bytes.length)] ^= (byte) (1 + random.nextInt(255));
        }
        storage.overwrite("obj", bytes);
        assertCorruptOrCorrect(storage, sizeKnown ? bytes.length : -1, expected);
    }

    @Property(tries = 200)
    void truncationGivesCorruptDataExceptionOrCorrectData(@ForAll("nonEmptyObjects") List<StreamSpec> spec,
                                                          @ForAll CompressionCodec codec, @ForAll long seed,
                                                          @ForAll boolean sizeKnown) {
        InMemoryObjectStorage storage = new InMemoryObjectStorage();
        List<Expected> expected = write(storage, "obj", spec, codec, 2048);
        byte[] bytes = storage.bytes("obj");
        int keep = new Random(seed).nextInt(bytes.length);
        storage.overwrite("obj", java.util.Arrays.copyOf(bytes, keep));
        // sizeKnown: the manifest still says the old size
        assertCorruptOrCorrect(storage, sizeKnown ? bytes.length : -1, expected);
    }

    private static void assertCorruptOrCorrect(InMemoryObjectStorage storage, long size, List<Expected> expected) {
        List<Expected> got;
        try {
            got = readAll(storage, "obj", size, 256);
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(CorruptDataException.class);
            assertThat(e.getCause().getMessage()).contains("obj");
            return;
        } catch (CorruptDataException e) {
            assertThat(e.getMessage()).contains("property");
            return;
        }
        assertThat(got).isEqualTo(expected);
    }
}
