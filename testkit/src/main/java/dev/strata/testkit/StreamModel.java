package dev.strata.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * The reference model of one stream's semantics (docs/design.md, Semantics), used to check an
 * implementation: offsets assigned contiguously, fetch boundaries, trim.
 */
public final class StreamModel {

    /** One batch as appended. */
    public record Batch(long baseOffset, int count, long baseTimestamp, byte[] payload) {
        public long nextOffset() {
            return baseOffset + count;
        }
    }

    private final List<Batch> batches = new ArrayList<>();
    private long startOffset;
    private long nextOffset;

    public long startOffset() {
        return startOffset;
    }

    public long nextOffset() {
        return nextOffset;
    }

    /** Records an acknowledged append and returns the base offset the store must have assigned. */
    public long append(int count, long baseTimestamp, byte[] payload) {
        long base = nextOffset;
        batches.add(new Batch(base, count, baseTimestamp, payload.clone()));
        nextOffset += count;
        return base;
    }

    /** Applies a trim; a value at or below the start changes nothing. */
    public void trim(long newStart) {
        if (newStart > nextOffset) {
            throw new IllegalArgumentException("trim beyond end: " + newStart + " > " + nextOffset);
        }
        startOffset = Math.max(startOffset, newStart);
    }

    /** Whether {@code fetch(start, ...)} must fail with {@code OffsetOutOfRangeException}. */
    public boolean outOfRange(long start) {
        return start < startOffset || start > nextOffset;
    }

    /**
     * The batches {@code fetch(start, end, maxBytes)} must return: the batches overlapping
     * {@code [start, end)} in order, from the one containing {@code start}; at least one if any, then
     * no more than {@code maxBytes} of payload in total.
     */
    public List<Batch> fetch(long start, long end, int maxBytes) {
        if (outOfRange(start)) {
            throw new IllegalArgumentException("out of range: " + start);
        }
        List<Batch> out = new ArrayList<>();
        if (end <= start) {
            return out; // the empty range [start, end) overlaps no batch
        }
        long bytes = 0;
        for (Batch b : batches) {
            if (b.nextOffset() <= start) {
                continue;
            }
            if (b.baseOffset() >= end) {
                break;
            }
            if (!out.isEmpty() && bytes + b.payload().length > maxBytes) {
                break;
            }
            out.add(b);
            bytes += b.payload().length;
        }
        return out;
    }

    /** Every batch that holds at least one offset at or above the start offset. */
    public List<Batch> live() {
        return fetch(startOffset, Long.MAX_VALUE, Integer.MAX_VALUE);
    }
}
