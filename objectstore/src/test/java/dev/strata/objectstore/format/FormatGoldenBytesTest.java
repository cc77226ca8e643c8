package dev.strata.objectstore.format;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.testing.InMemoryObjectStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pins every binary format byte for byte. If one of these fails, the format changed: that needs a
 * new version number and a reader for the old one, not a new expected string.
 */
class FormatGoldenBytesTest {

    private static final UnpooledByteBufAllocator ALLOC = new UnpooledByteBufAllocator(false);

    private static String hex(ByteBuf buf) {
        return ByteBufUtil.hexDump(buf);
    }

    private static ByteBuf payload(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    /** Stream 7, epoch 3, offsets [100, 102), timestamp 0x1122334455667788, payload "hi". */
    static ByteBuf goldenBatch() {
        ByteBuf p = payload("hi");
        try {
            return StreamBatchCodec.encode(ALLOC, 7, 3, 100, 2, 0x1122334455667788L, p);
        } finally {
            p.release();
        }
    }

    static final String GOLDEN_BATCH_HEX =
            "ebbcb279"                      // crc32c of bytes [4, 50)
                    + "00000002"            // payload length
                    + "01" + "00" + "0000"  // magic 1, attributes 0, reserved
                    + "00000002"            // count
                    + "0000000000000007"    // stream id
                    + "0000000000000003"    // epoch
                    + "0000000000000064"    // base offset 100
                    + "1122334455667788"    // base timestamp
                    + "6869";               // "hi"

    @Test
    void streamBatchEncodingIsPinned() {
        ByteBuf b = goldenBatch();
        try {
            assertThat(hex(b)).isEqualTo(GOLDEN_BATCH_HEX);
            // the CRC is CRC32C of everything after it
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(ByteBufUtil.getBytes(b, 4, b.readableBytes() - 4));
            assertThat(b.getInt(0)).isEqualTo((int) crc.getValue());
            StreamBatch view = StreamBatchCodec.wrap(b).verifyChecksum("golden");
            assertThat(view.streamId()).isEqualTo(7);
            assertThat(view.epoch()).isEqualTo(3);
            assertThat(view.baseOffset()).isEqualTo(100);
            assertThat(view.count()).isEqualTo(2);
            assertThat(view.nextOffset()).isEqualTo(102);
            assertThat(view.baseTimestamp()).isEqualTo(0x1122334455667788L);
            assertThat(view.payload().toString(StandardCharsets.UTF_8)).isEqualTo("hi");
        } finally {
            b.release();
        }
    }

    @Test
    void uncompressedDataBlockIsPinned() {
        ByteBuf block = DataBlockEncoder.encode(List.of(goldenBatch()), 2, CompressionCodec.NONE, ALLOC);
        try {
            String expected = ("53424C4B"   // magic "SBLK"
                    + "00" + "00" + "0000"   // codec none, flags, reserved
                    + "00000032"             // raw length 50
                    + "00000032"             // stored length 50
                    + "00000002"             // records
                    + "3b300ecf"             // crc32c of [0,20) + stored bytes
                    + GOLDEN_BATCH_HEX).toLowerCase();
            assertThat(hex(block)).isEqualTo(expected);
        } finally {
            block.release();
        }
    }

    @Test
    void objectWithOneBlockIsPinnedIncludingIndexAndFooter() {
        InMemoryObjectStorage storage = new InMemoryObjectStorage();
        ObjectWriter w = new ObjectWriter(storage.startUpload("golden", PutCondition.none()),
                ObjectWriterOptions.builder().allocator(ALLOC).build());
        w.append(goldenBatch());
        WrittenObject written = w.finish().join();
        byte[] all = storage.bytes("golden");
        assertThat(written.size()).isEqualTo(all.length).isEqualTo(74 + 40 + 32);
        String tail = HexFormat.of().formatHex(all, 74, all.length);
        String index = "0000000000000007"   // stream id
                + "0000000000000064"         // start offset 100
                + "0000000000000066"         // end offset 102
                + "0000000000000000"         // block position 0
                + "0000004a"                 // block size 74
                + "00000002";                // records
        String footer = "000000000000004a"   // index position 74
                + "00000028"                 // index length 40
                + "df4ec504"                 // index crc
                + "00000001"                 // entries
                + "0001" + "0000"            // version 1, flags
                + "1629cd4d"                 // footer crc over [0,24)
                + "5354524f";                // magic "STRO"
        assertThat(tail).isEqualTo(index + footer);
        ObjectReader reader = ObjectReader.open(storage, "golden", -1).join();
        assertThat(reader.index().entries()).containsExactly(new IndexEntry(7, 100, 102, 2, 0, 74));
    }
}
