package dev.strata.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Golden bytes: pins both on-device formats, so a layout change cannot go unnoticed. */
class WalFormatTest {

    /** CRC32C of the golden record header's first 40 bytes; pinned so the CRC's coverage cannot drift. */
    private static final int GOLDEN_HEADER_CRC = 0x72f53638;

    @Test
    void recordHeaderLayoutIsPinned() {
        ByteBuffer b = ByteBuffer.allocate(WalRecordDescriptor.HEADER_BYTES);
        WalRecordDescriptor.writeHeader(b, 0, WalRecordDescriptor.FLAG_LAST_IN_WRITE, 0x0102030405060708L, 3,
                0x1112131415161718L, 0x1234, 0xCAFEBABE);
        assertThat(WalRecordDescriptor.HEADER_BYTES).isEqualTo(44);
        assertThat(HexFormat.of().formatHex(b.array())).isEqualTo(
                "53574c32" + "01000000" + "0807060504030201" + "0300000000000000" + "1817161514131211" + "34120000"
                        + "bebafeca" + String.format("%08x", Integer.reverseBytes(WalRecordDescriptor.headerCrc(b, 0))));
        assertThat(WalRecordDescriptor.headerCrc(b, 0)).isEqualTo(GOLDEN_HEADER_CRC);
    }

    @Test
    void durableMarkIsCoveredByTheHeaderCrc() {
        ByteBuffer b = ByteBuffer.allocate(WalRecordDescriptor.HEADER_BYTES);
        WalRecordDescriptor.writeHeader(b, 0, 0, 4096, 1, 0, 10, 0);
        ByteBuffer le = b.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int before = le.getInt(WalRecordDescriptor.HEADER_CRC_OFFSET);
        WalRecordDescriptor.setDurableMark(b, 0, 8192);
        assertThat(le.getLong(WalRecordDescriptor.DURABLE_MARK_OFFSET)).isEqualTo(8192);
        assertThat(le.getInt(WalRecordDescriptor.HEADER_CRC_OFFSET)).isNotEqualTo(before)
                .isEqualTo(WalRecordDescriptor.headerCrc(b, 0));
    }

    @Test
    void headerSlotOfAnotherVersionDecodesAsUnsupported() {
        ByteBuffer b = ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        WalHeaderDescriptor.encode(new WalHeader(4096, 1 << 20, 1, 0, 1, 0, 0, -1), b, 4096);
        b.putInt(WalHeaderDescriptor.VERSION_OFFSET, 1);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b.duplicate().limit(WalHeaderDescriptor.CRC_OFFSET).position(0));
        b.putInt(WalHeaderDescriptor.CRC_OFFSET, (int) crc.getValue());
        assertThat(WalHeaderDescriptor.decode(b)).isEqualTo(new WalHeaderDescriptor.Unsupported(1));
    }

    @Test
    void headerSlotLayoutIsPinnedAndRoundTrips() {
        WalHeader h = new WalHeader(4096, 1 << 20, 5, 777, 2, 640, 9, 4242);
        ByteBuffer b = ByteBuffer.allocate(4096);
        WalHeaderDescriptor.encode(h, b, 4096);
        assertThat(HexFormat.of().formatHex(b.array(), 0, 72)).isEqualTo("53574c48" + "02000000" + "00100000"
                + "00000000" + "0000100000000000" + "0500000000000000" + "0903000000000000" + "0200000000000000"
                + "8002000000000000" + "0900000000000000" + "9210000000000000");
        assertThat(WalHeaderDescriptor.HEADER_BYTES).isEqualTo(76);
        assertThat(WalHeaderDescriptor.decode(b)).isEqualTo(new WalHeaderDescriptor.Valid(h));
        assertThat(h.slot()).isEqualTo(1);
    }

    @Test
    void corruptHeaderSlotIsInvalidAndBlankSlotIsEmpty() {
        ByteBuffer b = ByteBuffer.allocate(4096);
        assertThat(WalHeaderDescriptor.decode(b)).isInstanceOf(WalHeaderDescriptor.Empty.class);
        WalHeaderDescriptor.encode(new WalHeader(4096, 1 << 20, 1, 0, 1, 0, 0, -1), b, 4096);
        b.put(40, (byte) 7); // generation 1 -> 7
        assertThat(WalHeaderDescriptor.decode(b)).isInstanceOfSatisfying(WalHeaderDescriptor.Invalid.class,
                i -> assertThat(i.reason()).contains("CRC mismatch"));
    }

    @Test
    void nextPositionFollowsTheChainRule() {
        assertThat(WalRecordDescriptor.nextPosition(100, 0, 10, 4096)).isEqualTo(154);
        assertThat(WalRecordDescriptor.nextPosition(100, WalRecordDescriptor.FLAG_LAST_IN_WRITE, 10, 4096)).isEqualTo(4096);
        assertThat(WalRecordDescriptor.nextPosition(4096, WalRecordDescriptor.FLAG_LAST_IN_WRITE, 4052, 4096)).isEqualTo(8192);
    }
}
