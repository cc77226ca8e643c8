package dev.strata.jmh.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class PayloadsTest {

    /** The in-place check accepts exactly the derived bytes and names the first byte that differs. */
    @Test
    void theInPlaceCheckFindsEveryChangedByteOfEveryRecordSize() {
        int[] sizes = {0, 1, 7, 8, 9, 15, 16, 17, 31, 1024, 1031, 16384};
        for (int size : sizes) {
            ByteBuffer expected = Payloads.payload(42, 1_000 + size, size);
            assertThat(Payloads.firstDifference(42, 1_000 + size, expected.duplicate().order(ByteOrder.LITTLE_ENDIAN)))
                    .as("size %d", size).isEqualTo(-1);
            assertThat(size == 0 || Payloads.firstDifference(43, 1_000 + size, expected.duplicate().order(ByteOrder.LITTLE_ENDIAN)) >= 0)
                    .as("another stream's record of size %d", size).isTrue();
            for (int flip = 0; flip < size; flip += Math.max(1, size / 40)) {
                ByteBuffer changed = ByteBuffer.allocateDirect(size + 3).order(ByteOrder.LITTLE_ENDIAN);
                changed.position(3);
                changed.put(expected.duplicate());
                changed.position(3);
                changed.put(3 + flip, (byte) (changed.get(3 + flip) ^ 0x10));
                assertThat(Payloads.firstDifference(42, 1_000 + size, changed)).as("size %d, byte %d", size, flip)
                        .isEqualTo(flip);
            }
        }
    }
}
