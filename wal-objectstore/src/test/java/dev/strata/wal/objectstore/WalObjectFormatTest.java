package dev.strata.wal.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** Pins the WAL object header's bytes, and checks that damage and unknown versions are refused. */
class WalObjectFormatTest {

    private static final WalObjectHeader HEADER = new WalObjectHeader(false, 7, 0x0102030405060708L, 42, 4096, 40,
            1000, 2, 18, 0x11223344);

    /** Heap bytes, not reference-counted by a pool: unreleased ones are collected, not leaked. */
    private static ByteBuf encoded(WalObjectHeader h) {
        ByteBuf buf = Unpooled.wrappedBuffer(new byte[WalObjectDescriptor.HEADER_BYTES]);
        buf.writerIndex(0);
        buf.writerIndex(WalObjectDescriptor.HEADER_BYTES);
        WalObjectDescriptor.writeHeader(buf, h);
        return buf;
    }

    @Test
    void headerBytesArePinned() {
        ByteBuf buf = encoded(HEADER);
        try {
            assertThat(WalObjectDescriptor.HEADER_BYTES).isEqualTo(80);
            assertThat(ByteBufUtil.hexDump(buf, 0, 76)).isEqualTo(
                    "53574f31" + "0001" + "0000"              // magic, version, flags
                    + "0000000000000007"                      // nodeEpoch
                    + "0102030405060708"                      // writerId
                    + "000000000000002a"                      // sequence
                    + "0000000000001000"                      // basePosition
                    + "0000000000000028"                      // trimSequence
                    + "00000000000003e8"                      // trimPosition
                    + "00000002" + "00000012" + "11223344"    // recordCount, bodyLength, bodyCrc
                    + "0000000000000000");                    // reserved
            assertThat(buf.getInt(76)).isEqualTo(WalObjectDescriptor.crc(buf, 0, 76));
            assertThat(WalObjectDescriptor.readHeader(buf, "k")).isEqualTo(HEADER);
        } finally {
            buf.release();
        }
    }

    @Test
    void aFlippedHeaderBitIsACrcMismatch() {
        ByteBuf buf = encoded(HEADER);
        buf.setByte(30, buf.getByte(30) ^ 1);
        assertThatThrownBy(() -> WalObjectDescriptor.readHeader(buf, "p/wal/1"))
                .isInstanceOf(CorruptDataException.class).hasMessageContaining("header CRC mismatch")
                .hasMessageContaining("p/wal/1");
    }

    @Test
    void anotherFormatVersionIsRefusedNotMisread() {
        ByteBuf buf = encoded(HEADER);
        buf.setShort(WalObjectDescriptor.VERSION_OFFSET, 2);
        buf.setInt(WalObjectDescriptor.HEADER_CRC_OFFSET, WalObjectDescriptor.crc(buf, 0, WalObjectDescriptor.HEADER_CRC_OFFSET));
        assertThatThrownBy(() -> WalObjectDescriptor.readHeader(buf, "k"))
                .isInstanceOf(CorruptDataException.class).hasMessageContaining("version=2");
    }

    @Test
    void aWrongMagicOrShortObjectIsRefused() {
        ByteBuf buf = encoded(HEADER);
        buf.setInt(0, 0);
        assertThatThrownBy(() -> WalObjectDescriptor.readHeader(buf, "k")).hasMessageContaining("magic mismatch");
        assertThatThrownBy(() -> WalObjectDescriptor.readHeader(Unpooled.wrappedBuffer(new byte[10]), "k"))
                .hasMessageContaining("shorter than its header");
    }

    @Test
    void aFenceWithRecordsOrATrimPointAfterTheObjectIsInvalid() {
        assertThatThrownBy(() -> WalObjectDescriptor.checkHeader(
                new WalObjectHeader(true, 1, 1, 5, 0, 5, 0, 1, 8, 0), "k")).hasMessageContaining("fence object with records");
        assertThatThrownBy(() -> WalObjectDescriptor.checkHeader(
                new WalObjectHeader(false, 1, 1, 5, 100, 7, 0, 0, 0, 0), "k")).hasMessageContaining("trim point after");
    }

    @Property(tries = 200)
    void everyValidHeaderRoundTrips(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long epoch,
            @ForAll long writer, @ForAll @LongRange(min = 0, max = 1L << 40) long sequence,
            @ForAll @LongRange(min = 0, max = 1L << 50) long base, @ForAll @IntRange(min = 0, max = 1000) int records,
            @ForAll boolean fence) {
        int count = fence ? 0 : records;
        WalObjectHeader h = new WalObjectHeader(fence, epoch, writer, sequence, base, sequence, base, count,
                count * WalObjectDescriptor.RECORD_FRAME_BYTES + 3 * count, 99);
        assertThat(WalObjectDescriptor.readHeader(encoded(h), "k")).isEqualTo(h);
    }

    @Test
    void keysAreTwentyDigitSequencesUnderThePrefix() {
        WalObjectKeys keys = new WalObjectKeys("a/b");
        assertThat(keys.key(42)).isEqualTo("a/b/wal/00000000000000000042");
        assertThat(keys.sequenceOf("a/b/wal/00000000000000000042")).hasValue(42);
        assertThat(keys.sequenceOf("a/b/wal/0000000000000000004x")).isEmpty();
        assertThat(keys.sequenceOf("a/b/wal/42")).isEmpty();
        assertThat(keys.sequenceOf("a/c/wal/00000000000000000042")).isEmpty();
        assertThat(new WalObjectKeys("").key(Long.MAX_VALUE)).isEqualTo("wal/09223372036854775807");
    }
}
