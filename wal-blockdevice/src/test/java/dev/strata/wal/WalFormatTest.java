package dev.strata.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Golden bytes: pins both on-device formats, so a layout change cannot go unnoticed. */
class WalFormatTest {

    @Test
    void recordHeaderLayoutIsPinned() {
        ByteBuffer b = ByteBuffer.allocate(WalRecordDescriptor.HEADER_BYTES);
        WalRecordDescriptor.writeHeader(b, 0, WalRecordDescriptor.FLAG_LAST_IN_WRITE, 0x0102030405060708L, 3, 0x1234,
                0xCAFEBABE);
        assertThat(WalRecordDescriptor.HEADER_BYTES).isEqualTo(36);
        assertThat(HexFormat.of().formatHex(b.array())).isEqualTo(
                "53574c52" + "01000000" + "0807060504030201" + "0300000000000000" + "34120000" + "bebafeca"
                        + String.format("%08x", Integer.reverseBytes(WalRecordDescriptor.headerCrc(b, 0))));
        assertThat(WalRecordDescriptor.headerCrc(b, 0)).isEqualTo(0xa4045498);
    }

    @Test
    void headerSlotLayoutIsPinnedAndRoundTrips() {
        WalHeader h = new WalHeader(4096, 1 << 20, 5, 777, 2, 640, 9);
        ByteBuffer b = ByteBuffer.allocate(4096);
        WalHeaderDescriptor.encode(h, b, 4096);
        assertThat(HexFormat.of().formatHex(b.array(), 0, 64)).isEqualTo("53574c48" + "01000000" + "00100000"
                + "00000000" + "0000100000000000" + "0500000000000000" + "0903000000000000" + "0200000000000000"
                + "8002000000000000" + "0900000000000000");
        assertThat(WalHeaderDescriptor.decode(b)).isEqualTo(new WalHeaderDescriptor.Valid(h));
        assertThat(h.slot()).isEqualTo(1);
    }

    @Test
    void corruptHeaderSlotIsInvalidAndBlankSlotIsEmpty() {
        ByteBuffer b = ByteBuffer.allocate(4096);
        assertThat(WalHeaderDescriptor.decode(b)).isInstanceOf(WalHeaderDescriptor.Empty.class);
        WalHeaderDescriptor.encode(new WalHeader(4096, 1 << 20, 1, 0, 1, 0, 0), b, 4096);
        b.put(40, (byte) 7); // generation 1 -> 7
        assertThat(WalHeaderDescriptor.decode(b)).isInstanceOfSatisfying(WalHeaderDescriptor.Invalid.class,
                i -> assertThat(i.reason()).contains("CRC mismatch"));
    }

    @Test
    void nextPositionFollowsTheChainRule() {
        assertThat(WalRecordDescriptor.nextPosition(100, 0, 10, 4096)).isEqualTo(146);
        assertThat(WalRecordDescriptor.nextPosition(100, WalRecordDescriptor.FLAG_LAST_IN_WRITE, 10, 4096)).isEqualTo(4096);
        assertThat(WalRecordDescriptor.nextPosition(4096, WalRecordDescriptor.FLAG_LAST_IN_WRITE, 4060, 4096)).isEqualTo(8192);
    }
}
