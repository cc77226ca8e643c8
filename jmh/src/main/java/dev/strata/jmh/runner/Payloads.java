package dev.strata.jmh.runner;

import dev.strata.api.FetchedBatch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The bytes of every record are a function of (stream id, offset, size), so a reader verifies what
 * it reads without anyone remembering what was appended: a SplitMix64 sequence seeded by stream and
 * offset, little-endian, cut to the record size.
 */
final class Payloads {
    private Payloads() {
    }

    /** A fresh buffer holding the record at {@code offset} of stream {@code streamId}. */
    static ByteBuffer payload(long streamId, long offset, int size) {
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        long state = seed(streamId, offset);
        while (b.remaining() >= Long.BYTES) {
            state += 0x9E3779B97F4A7C15L;
            b.putLong(mix(state));
        }
        long last = mix(state + 0x9E3779B97F4A7C15L);
        while (b.hasRemaining()) {
            b.put((byte) last);
            last >>>= 8;
        }
        return b.flip();
    }

    /**
     * Checks one fetched batch: one record at {@code expectedOffset} with the derived bytes.
     *
     * @throws VerificationException naming stream, offset and what differs
     */
    static void verify(long streamId, long expectedOffset, int size, FetchedBatch batch) {
        if (batch.baseOffset() != expectedOffset || batch.count() != 1) {
            throw new VerificationException("unexpected batch: stream=" + streamId + " expectedOffset=" + expectedOffset
                    + " baseOffset=" + batch.baseOffset() + " count=" + batch.count());
        }
        ByteBuffer actual = batch.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int differs = actual.remaining() == size ? firstDifference(streamId, expectedOffset, actual) : -1;
        if (actual.remaining() != size || differs >= 0) {
            throw new VerificationException("payload differs: stream=" + streamId + " offset=" + expectedOffset
                    + " expectedBytes=" + size + " actualBytes=" + actual.remaining() + " firstDifferentByte=" + differs);
        }
    }

    /**
     * Index (from the position) of the first byte of {@code actual} (little-endian, as many bytes as
     * it has remaining) that differs from the record at {@code offset}, or -1: the same bytes as
     * {@link #payload}, compared in place, eight at a time (a replay checks every byte it reads, so
     * the check must not cost more than the read).
     */
    static int firstDifference(long streamId, long offset, ByteBuffer actual) {
        int at = actual.position();
        int size = actual.remaining();
        long state = seed(streamId, offset);
        int i = 0;
        for (; i + Long.BYTES <= size; i += Long.BYTES) {
            state += 0x9E3779B97F4A7C15L;
            long diff = actual.getLong(at + i) ^ mix(state);
            if (diff != 0) {
                return i + Long.numberOfTrailingZeros(diff) / Byte.SIZE; // little-endian: low byte first
            }
        }
        long last = mix(state + 0x9E3779B97F4A7C15L);
        for (; i < size; i++) {
            if (actual.get(at + i) != (byte) last) {
                return i;
            }
            last >>>= 8;
        }
        return -1;
    }

    private static long seed(long streamId, long offset) {
        return mix(streamId * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL) ^ (offset * 0x9E3779B97F4A7C15L);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
