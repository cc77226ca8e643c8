package dev.strata.kafka.broker;

import java.util.concurrent.CompletableFuture;

/**
 * Hands out producer ids for InitProducerId so that none repeats, also across restarts: ids are
 * reserved in blocks of {@link #BLOCK_SIZE}, each block recorded durably in the {@link TopicCatalog}
 * before any of its ids is handed out; a restart continues after the last recorded block (the unused
 * rest of a block is skipped).
 *
 * <p>Thread-safe: {@code this} guards {@code next}, {@code blockEnd} and {@code reserving}.
 */
final class ProducerIds {

    /** Producer ids reserved per catalog entry. */
    static final long BLOCK_SIZE = 1000;

    private final TopicCatalog catalog;
    private long next; // guarded by: this
    private long blockEnd; // guarded by: this
    private CompletableFuture<Void> reserving; // guarded by: this; the newest block recorded or being recorded

    ProducerIds(TopicCatalog catalog) {
        this.catalog = catalog;
        this.next = catalog.producerIdEnd();
        this.blockEnd = next;
    }

    /** A producer id never handed out before; fails with the store's exception if a block cannot be recorded. */
    CompletableFuture<Long> allocate() {
        CompletableFuture<Void> wait;
        synchronized (this) {
            if (next < blockEnd) {
                return CompletableFuture.completedFuture(next++);
            }
            if (reserving == null || reserving.isDone()) { // none in flight (a failed one is retried)
                long end = blockEnd + BLOCK_SIZE;
                reserving = catalog.producerIdsReserved(end).thenRun(() -> {
                    synchronized (this) {
                        blockEnd = end;
                    }
                });
            }
            wait = reserving;
        }
        return wait.thenCompose(v -> allocate());
    }
}
