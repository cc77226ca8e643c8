package dev.strata.kafka.broker;

import dev.strata.api.CorruptDataException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Reads a stream the broker keeps its own records in (the topic catalog, the group offsets) from
 * an offset to an end, handing each stored batch to a consumer in order: how those are rebuilt at
 * start. Stateless; the consumer runs on whichever thread completes the fetches.
 */
final class StreamReplay {
    /** Bytes asked for per fetch. */
    private static final int READ_BYTES = 1 << 20;

    private StreamReplay() {
    }

    /**
     * Hands every batch in {@code [from, end)} to {@code each}, in offset order; the first may begin
     * below {@code from} (a trimmed start inside it). The payload is valid only during the call.
     *
     * @return fails with {@link CorruptDataException} if the stream has no batch where one must be,
     *     or with the stream's or the consumer's failure
     */
    static CompletableFuture<Void> forEachBatch(Stream stream, long from, long end, String what, Consumer<FetchedBatch> each) {
        if (from >= end) {
            return CompletableFuture.completedFuture(null);
        }
        return stream.fetch(from, end, READ_BYTES).thenCompose(result -> {
            long next;
            try (FetchResult r = result) {
                if (r.batches().isEmpty()) {
                    throw new CorruptDataException(what + " stream " + stream.id() + ": no batch at offset " + from
                            + " below end " + end);
                }
                r.batches().forEach(each);
                next = r.batches().get(r.batches().size() - 1).nextOffset();
            }
            return forEachBatch(stream, next, end, what, each);
        });
    }
}
