package dev.strata.objectstore.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.testing.InMemoryObjectStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Writer block boundaries, the reader's request pattern (tail GET, coalescing) and its checks. */
class ObjectReaderTest {
    private final InMemoryObjectStorage storage = new InMemoryObjectStorage();

    private static ByteBuf batch(long stream, long offset, int count, int payloadBytes) {
        ByteBuf payload = Unpooled.wrappedBuffer(new byte[payloadBytes]);
        try {
            return StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, stream, 1, offset, count, 0, payload);
        } finally {
            payload.release();
        }
    }

    /** Streams 5 then 3 (unsorted), 10 batches of 1000 payload bytes each, 2 KiB blocks. */
    private WrittenObject writeTwoStreams(String key) {
        ObjectWriter w = new ObjectWriter(storage.startUpload(key, PutCondition.none()),
                ObjectWriterOptions.builder().blockSizeBytes(2048).build());
        for (long stream : new long[] {5, 3}) {
            for (int i = 0; i < 10; i++) {
                w.append(batch(stream, 100 + i * 10L, 10, 1000)).join();
            }
        }
        return w.finish().join();
    }

    private long gets() {
        return storage.metrics().stats(Operation.GET).requests();
    }

    @Test
    void blocksCloseAtTheTargetSizeAndTheIndexIsSortedByStream() {
        WrittenObject obj = writeTwoStreams("o");
        ObjectIndex index = obj.index();
        // 1048-byte batches: two per 2 KiB block -> 5 blocks per stream
        assertThat(index.size()).isEqualTo(10);
        assertThat(index.entries()).extracting(IndexEntry::streamId).containsExactly(3L, 3L, 3L, 3L, 3L, 5L, 5L, 5L, 5L, 5L);
        assertThat(index.entry(0).startOffset()).isEqualTo(100);
        assertThat(index.entry(0).endOffset()).isEqualTo(120);
        assertThat(obj.streamRanges()).containsExactly(
                new StreamRange(3, 100, 200, 5, index.entries().subList(0, 5).stream().mapToLong(IndexEntry::size).sum()),
                new StreamRange(5, 100, 200, 5, index.entries().subList(5, 10).stream().mapToLong(IndexEntry::size).sum()));
    }

    @Test
    void openReadsFooterAndIndexWithOneGetWhenTheGuessCoversThem() {
        WrittenObject obj = writeTwoStreams("o");
        long before = gets();
        ObjectReader r = ObjectReader.open(storage, "o", obj.size()).join();
        assertThat(gets() - before).isEqualTo(1);
        assertThat(r.index().entries()).isEqualTo(obj.index().entries());
    }

    @Test
    void openFetchesTheIndexSeparatelyWhenTheGuessIsTooSmall() {
        writeTwoStreams("o");
        long before = gets();
        ObjectReader r = ObjectReader.open(storage, "o", -1, 64).join();
        assertThat(gets() - before).isEqualTo(2);
        assertThat(r.index().size()).isEqualTo(10);
    }

    @Test
    void adjacentBlocksAreReadWithOneGetAndTheCapSplitsRuns() {
        WrittenObject obj = writeTwoStreams("o");
        ObjectReader r = ObjectReader.of(storage, "o", obj.size(), obj.index());
        long before = gets();
        List<DataBlock> blocks = r.readBlocks(0, 5).join();
        try {
            assertThat(gets() - before).isEqualTo(1);
            assertThat(blocks).extracting(DataBlock::streamId).containsOnly(3L);
            assertThat(blocks.get(4).endOffset()).isEqualTo(200);
            assertThat(blocks.get(2).batches().get(1).baseOffset()).isEqualTo(150);
            assertThat(blocks.get(2).batchIndexOf(155)).isEqualTo(1);
            assertThat(blocks.get(2).batchIndexOf(160)).isEqualTo(-1);
        } finally {
            blocks.forEach(DataBlock::release);
        }
        ObjectReader capped = r.with(PooledByteBufAllocator.DEFAULT, 2 * obj.index().entry(0).size());
        before = gets();
        List<DataBlock> again = capped.readBlocks(0, 5).join();
        again.forEach(DataBlock::release);
        assertThat(gets() - before).isEqualTo(3);
    }

    /**
     * Regression guard for RELIABILITY.md bug 6: intact blocks were reported corrupt when a damaged
     * block shared their ranged GET, because the whole run failed with the damaged block's error.
     */
    @Test
    void aDamagedBlockFailsOnlyItselfAndNotTheIntactBlocksOfTheSameGet() {
        WrittenObject obj = writeTwoStreams("o");
        byte[] bytes = storage.bytes("o");
        IndexEntry damaged = obj.index().entry(2);
        bytes[(int) (damaged.position() + damaged.size() / 2)] ^= 0x10;
        storage.overwrite("o", bytes);
        ObjectReader r = ObjectReader.of(storage, "o", obj.size(), obj.index());

        long before = gets();
        List<java.util.concurrent.CompletableFuture<DataBlock>> each = r.readEachBlock(0, 5);
        assertThat(gets() - before).as("one coalesced GET").isEqualTo(1);
        assertThat(each).hasSize(5);
        assertThatThrownBy(() -> each.get(2).join()).hasCauseInstanceOf(CorruptDataException.class)
                .hasMessageContaining("object=o block=2");
        for (int i : new int[] {0, 1, 3, 4}) {
            DataBlock block = each.get(i).join();
            try {
                assertThat(block.streamId()).isEqualTo(3);
                assertThat(block.startOffset()).isEqualTo(obj.index().entry(i).startOffset());
                assertThat(block.endOffset()).isEqualTo(obj.index().entry(i).endOffset());
            } finally {
                block.release();
            }
        }
        // all-or-nothing: the damaged block's error, and the intact blocks are released (leak check)
        assertThatThrownBy(() -> r.readBlocks(0, 5).join()).hasCauseInstanceOf(CorruptDataException.class)
                .hasMessageContaining("object=o block=2");
        r.readBlocks(3, 5).join().forEach(DataBlock::release);
    }

    @Test
    void aFailedGetFailsEveryBlockOfItsRun() {
        WrittenObject obj = writeTwoStreams("o");
        byte[] bytes = storage.bytes("o");
        storage.overwrite("o", java.util.Arrays.copyOf(bytes, (int) obj.index().entry(3).position()));
        ObjectReader r = ObjectReader.of(storage, "o", obj.size(), obj.index());
        List<java.util.concurrent.CompletableFuture<DataBlock>> each = r.readEachBlock(0, 5);
        for (java.util.concurrent.CompletableFuture<DataBlock> f : each) {
            assertThatThrownBy(f::join).hasCauseInstanceOf(CorruptDataException.class);
        }
    }

    @Test
    void blocksThatAreNeighboursInTheIndexButNotInTheObjectNeedSeparateGets() {
        // stream 3 was written after stream 5: block 4 (last of 3) ends the data, block 5 (first of 5) starts it
        WrittenObject obj = writeTwoStreams("o");
        ObjectReader r = ObjectReader.of(storage, "o", obj.size(), obj.index());
        long before = gets();
        List<DataBlock> blocks = r.readBlocks(4, 6).join();
        blocks.forEach(DataBlock::release);
        assertThat(gets() - before).isEqualTo(2);
    }

    @Test
    void compressionShrinksTelemetryAndFallsBackToNoneForRandomBytes() {
        byte[] json = "{\"device\":\"sensor-17\",\"temp\":21.5,\"humidity\":40}".repeat(40).getBytes(StandardCharsets.UTF_8);
        byte[] random = new byte[2000];
        new java.util.Random(1).nextBytes(random);
        for (CompressionCodec codec : CompressionCodec.values()) {
            ObjectWriter w = new ObjectWriter(storage.startUpload("c-" + codec, PutCondition.none()),
                    ObjectWriterOptions.builder().codec(codec).blockSizeBytes(1024).build());
            ByteBuf p1 = Unpooled.wrappedBuffer(json);
            ByteBuf p2 = Unpooled.wrappedBuffer(random);
            w.append(StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 1, 1, 0, 1, 0, p1)).join();
            w.append(StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 1, 1, 1, 1, 0, p2)).join();
            p1.release();
            p2.release();
            WrittenObject obj = w.finish().join();
            byte[] bytes = storage.bytes("c-" + codec);
            int jsonBlockCodec = bytes[(int) obj.index().entry(0).position() + DataBlockDescriptor.CODEC_OFFSET];
            int randomBlockCodec = bytes[(int) obj.index().entry(1).position() + DataBlockDescriptor.CODEC_OFFSET];
            assertThat(jsonBlockCodec).isEqualTo(codec.id());
            // random payload: never stored larger than raw (the batch header's zeros may still compress a little)
            assertThat(randomBlockCodec).isIn(CompressionCodec.NONE.id(), codec.id());
            assertThat(obj.index().entry(1).size())
                    .isLessThanOrEqualTo(DataBlockDescriptor.HEADER_SIZE + StreamBatchDescriptor.encodedSize(random.length));
            if (codec != CompressionCodec.NONE) {
                assertThat(obj.index().entry(0).size()).isLessThan(json.length / 4);
            }
            ObjectReader r = ObjectReader.open(storage, "c-" + codec, obj.size()).join();
            List<DataBlock> blocks = r.readBlocks(0, 2).join();
            try {
                assertThat(Unpooled.wrappedBuffer(json)).isEqualTo(blocks.get(0).batches().get(0).payload());
                assertThat(Unpooled.wrappedBuffer(random)).isEqualTo(blocks.get(1).batches().get(0).payload());
            } finally {
                blocks.forEach(DataBlock::release);
            }
        }
    }

    @Test
    void incompressibleBytesAreStoredUncompressed() {
        byte[] random = new byte[100_000];
        new java.util.Random(2).nextBytes(random);
        for (CompressionCodec codec : CompressionCodec.values()) {
            ByteBuf block = DataBlockEncoder.encode(List.of(Unpooled.wrappedBuffer(random)), 1, codec,
                    PooledByteBufAllocator.DEFAULT);
            try {
                assertThat(block.getByte(DataBlockDescriptor.CODEC_OFFSET)).as(codec.name()).isEqualTo((byte) 0);
                assertThat(block.readableBytes()).isEqualTo(DataBlockDescriptor.HEADER_SIZE + random.length);
            } finally {
                block.release();
            }
        }
    }

    @Test
    void overlappingRangesOfOneStreamFailFinishAndAbortTheUpload() {
        ObjectWriter w = new ObjectWriter(storage.startUpload("bad", PutCondition.none()),
                ObjectWriterOptions.builder().blockSizeBytes(1024).build());
        w.append(batch(1, 0, 10, 10)).join();
        w.append(batch(2, 0, 10, 10)).join();
        w.append(batch(1, 5, 10, 10)).join();
        assertThatThrownBy(() -> w.finish().join()).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlap");
        assertThat(storage.bytes("bad")).isNull();
    }

    @Test
    void aBatchWithABadCrcIsRejectedAtAppendAndReleased() {
        ObjectWriter w = new ObjectWriter(storage.startUpload("crc", PutCondition.none()), ObjectWriterOptions.defaults());
        ByteBuf b = batch(1, 0, 1, 100);
        b.setByte(b.writerIndex() - 1, 7);
        assertThatThrownBy(() -> w.append(b)).isInstanceOf(CorruptDataException.class).hasMessageContaining("CRC");
        assertThat(b.refCnt()).isZero();
        w.abort().join();
    }

    @Test
    void aBlockThatDoesNotMatchItsIndexEntryIsCorrupt() {
        WrittenObject obj = writeTwoStreams("o");
        // a reader built on a lying index: entry 0 claims stream 4
        List<IndexEntry> lying = new java.util.ArrayList<>(obj.index().entries());
        IndexEntry e = lying.get(0);
        lying.set(0, new IndexEntry(2, e.startOffset(), e.endOffset(), e.recordCount(), e.position(), e.size()));
        ObjectReader r = ObjectReader.of(storage, "o", obj.size(), new ObjectIndex(lying));
        assertThatThrownBy(() -> r.readBlocks(0, 3).join()).hasCauseInstanceOf(CorruptDataException.class)
                .hasMessageContaining("does not match its index entry").hasMessageContaining("object=o");
    }

    @Test
    void verifyRebuildsStreamRangesFromTheObjectAlone() {
        WrittenObject obj = writeTwoStreams("o");
        ObjectReader r = ObjectReader.open(storage, "o", -1).join();
        assertThat(r.verify().join()).isEqualTo(obj.streamRanges());
    }

    @Test
    void emptyObjectHasAnEmptyIndex() {
        ObjectWriter w = new ObjectWriter(storage.startUpload("empty", PutCondition.none()), ObjectWriterOptions.defaults());
        WrittenObject obj = w.finish().join();
        assertThat(obj.size()).isEqualTo(ObjectFooterDescriptor.FOOTER_SIZE);
        ObjectReader r = ObjectReader.open(storage, "empty", -1).join();
        assertThat(r.index().size()).isZero();
        assertThat(r.index().findBlock(1, 0)).isEqualTo(-1);
        assertThat(r.verify().join()).isEmpty();
    }

    @Test
    void verifierRebuildsRangesOrReportsCorruptionWithKeyAndPosition() {
        WrittenObject obj = writeTwoStreams("v");
        assertThat(ObjectVerifier.verify(storage, "v")).isEqualTo(obj.streamRanges());
        byte[] bytes = storage.bytes("v");
        int inSecondBlock = (int) obj.index().entry(1).position() + 100;
        bytes[inSecondBlock] ^= 0x40;
        storage.overwrite("v", bytes);
        assertThatThrownBy(() -> ObjectVerifier.verify(storage, "v")).isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("object=v").hasMessageContaining("position=" + obj.index().entry(1).position());
    }
}
