package dev.strata.wal;

import java.nio.ByteBuffer;

/** Block-aligned direct buffers, as O_DIRECT needs (address, length and file offset aligned). */
final class Buffers {
    private Buffers() {
    }

    /**
     * A direct buffer of {@code bytes} whose address is a multiple of {@code alignment}. Freed by
     * the garbage collector, so callers pool long-lived ones instead of allocating per write.
     */
    static ByteBuffer allocateAligned(int bytes, int alignment) {
        // (bytes + alignment) with the parentheses: the slice needs up to alignment-1 bytes of slack.
        return ByteBuffer.allocateDirect(bytes + alignment).alignedSlice(alignment).limit(bytes).slice();
    }

    /** Sets bytes [from, to) of {@code buf} to zero (absolute). */
    static void zero(ByteBuffer buf, int from, int to) {
        int i = from;
        for (; i < to && (i & 7) != 0; i++) {
            buf.put(i, (byte) 0);
        }
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            buf.putLong(i, 0L);
        }
        for (; i < to; i++) {
            buf.put(i, (byte) 0);
        }
    }
}
