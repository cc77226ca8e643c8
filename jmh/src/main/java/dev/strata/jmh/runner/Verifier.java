package dev.strata.jmh.runner;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Reads every stream from offset 0 to its end and checks that each record is there, once, at its
 * offset, with the derived bytes ({@link Payloads}), and that the stream holds at least what was
 * acknowledged.
 */
final class Verifier {
    /** Payload bytes asked per fetch. */
    static final int FETCH_BYTES = 1 << 20;

    private Verifier() {
    }

    /**
     * Verifies every slot's stream through its handle.
     *
     * @return records verified
     * @throws VerificationException on the first difference
     */
    static long verifyAll(List<StreamSlot> slots, int recordBytes) {
        long verified = 0;
        for (StreamSlot slot : slots) {
            long end = slot.stream.nextOffset();
            if (end < slot.acked) {
                throw new VerificationException("stream lost acknowledged records: stream=" + slot.id()
                        + " acknowledgedEnd=" + slot.acked + " nextOffset=" + end);
            }
            verified += verifyRange(slot, 0, end, recordBytes);
        }
        return verified;
    }

    /**
     * Verifies offsets {@code [from, to)} of one stream; returns the records read. Keeps one fetch
     * ahead: the next fetch is asked for before this one's records are checked, as a consumer that
     * processes one batch of records while the next is fetched does, so checking and fetching use
     * both cores.
     */
    static long verifyRange(StreamSlot slot, long from, long to, int recordBytes) {
        long offset = from;
        CompletableFuture<FetchResult> next = from < to ? slot.stream.fetch(from, to, FETCH_BYTES) : null;
        try {
            while (offset < to) {
                FetchResult r = next.join();
                next = null;
                try (r) {
                    if (r.isEmpty()) {
                        throw new VerificationException("records missing: stream=" + slot.id() + " from=" + offset
                                + " to=" + to);
                    }
                    List<FetchedBatch> batches = r.batches();
                    long after = batches.get(batches.size() - 1).nextOffset();
                    if (after < to) {
                        next = slot.stream.fetch(after, to, FETCH_BYTES);
                    }
                    for (FetchedBatch b : batches) {
                        Payloads.verify(slot.id(), offset, recordBytes, b);
                        offset = b.nextOffset();
                    }
                }
            }
        } finally {
            if (next != null) {
                next.thenAccept(FetchResult::close); // a check failed: release the fetch ahead when it arrives
            }
        }
        return to - from;
    }
}
