package dev.strata.core;

import dev.strata.api.StreamStore;
import dev.strata.testkit.StreamStoreContractTest;

/** The in-memory store obeys the whole contract (restart tests are skipped: nothing persists). */
class MemoryStreamStoreContractTest extends StreamStoreContractTest {

    private static final int MAX_BATCH_BYTES = 64 * 1024;

    @Override
    protected StreamStore createStore() {
        return new MemoryStreamStore(MAX_BATCH_BYTES, 64L << 20);
    }

    @Override
    protected int maxBatchBytes() {
        return MAX_BATCH_BYTES;
    }
}
