package dev.strata.core.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.testing.InMemoryObjectStorage;
import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Random bytes into every decoder the engine reads storage with: a stream batch (WAL record body,
 * cache and object encoding), a data block, a whole object (footer, index, blocks), and a WAL file
 * (header slots and the record scan). Only {@link CorruptDataException} (or, for a WAL file whose
 * header cannot be used, a non-retriable {@link StorageException}) may come out: no
 * IndexOutOfBounds, no NegativeArraySize, no OOM from a length field, no hang. The manifest decoder
 * is fuzzed in {@code ManifestCodecTest} (random bytes, flips, truncation) and flips and truncation
 * of valid objects in {@code ObjectFormatPropertiesTest}; this class adds wholly random input.
 * Tries per property: 1000, 1000, 500 and 60 (WAL files); the long run uses the same numbers.
 */
class DecoderFuzzTest {

    @Property(tries = 1000)
    void streamBatchFromRandomBytesIsCorruptOrChecksummed(@ForAll @Size(max = 400) byte[] bytes) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            StreamBatch b = StreamBatchCodec.read(buf, "fuzz", 0);
            // a decoded batch passed its CRC: its fields must be self-consistent
            assertThat(b.sizeBytes()).isLessThanOrEqualTo(bytes.length);
            assertThat(b.count()).isPositive();
        } catch (CorruptDataException expected) {
            // typed
        } finally {
            buf.release();
        }
    }

    @Property(tries = 1000)
    void dataBlockFromRandomBytesIsCorrupt(@ForAll @Size(max = 600) byte[] bytes) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(Math.max(1, bytes.length));
        buf.writeBytes(bytes);
        try {
            DataBlock block = DataBlock.decode(buf, PooledByteBufAllocator.DEFAULT, "fuzz", 0);
            block.release();
        } catch (CorruptDataException expected) {
            // typed
        } finally {
            if (buf.refCnt() > 0) {
                buf.release();
            }
        }
    }

    @Property(tries = 500)
    void objectFromRandomBytesIsCorrupt(@ForAll @Size(max = 2000) byte[] bytes) {
        InMemoryObjectStorage storage = new InMemoryObjectStorage();
        try {
            storage.put("o", Unpooled.wrappedBuffer(bytes)).join();
            try {
                ObjectReader reader = ObjectReader.open(storage, "o", bytes.length).join();
                reader.verify().join();
            } catch (CompletionException e) {
                assertThat(e.getCause()).isInstanceOf(CorruptDataException.class);
            } catch (CorruptDataException expected) {
                // typed, thrown at once
            }
        } finally {
            storage.close();
        }
    }

    @Property(tries = 60)
    void walFileWithRandomBytesOpensOrFailsTyped(@ForAll @Size(min = 1, max = 64) byte[] noise,
            @ForAll @IntRange(min = 0, max = 80) int blockIndex, @ForAll boolean everyByteOfTheBlock) throws IOException {
        Path dir = Files.createTempDirectory("strata-wal-fuzz");
        Path file = dir.resolve("w.wal");
        try {
            WalOptions options = WalOptions.builder(file).capacityBytes(256L << 10).backend(WalOptions.Backend.BUFFERED)
                    .build();
            try (BlockDeviceWal wal = BlockDeviceWal.open(options)) {
                for (int i = 0; i < 40; i++) {
                    ByteBuf body = PooledByteBufAllocator.DEFAULT.directBuffer(100 + i * 37);
                    body.writeZero(100 + i * 37);
                    wal.append(body).join();
                }
            }
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                long position = Math.min(f.length() - 4096, blockIndex * 4096L);
                f.seek(position);
                if (everyByteOfTheBlock) {
                    byte[] block = new byte[4096];
                    for (int i = 0; i < block.length; i++) {
                        block[i] = noise[i % noise.length];
                    }
                    f.write(block);
                } else {
                    f.write(noise);
                }
            }
            try (BlockDeviceWal wal = BlockDeviceWal.open(options); WalRecovery recovery = wal.recover()) {
                while (recovery.hasNext()) {
                    WalRecord r = recovery.next();
                    r.body().release();
                }
                assertThat(recovery.report().stopReason()).isNotNull();
            } catch (CorruptDataException | StorageException expected) {
                if (expected instanceof StorageException s) {
                    assertThat(s.isRetriable()).isFalse();
                }
            }
        } finally {
            try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
