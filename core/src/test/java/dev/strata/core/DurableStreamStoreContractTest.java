package dev.strata.core;

import dev.strata.api.StreamStore;
import dev.strata.testkit.StreamStoreContractTest;

/** The durable engine on the embedded default (WAL file + local object directory) obeys the whole contract, restarts included. */
class DurableStreamStoreContractTest extends StreamStoreContractTest {

    @Override
    protected StreamStore createStore() {
        return StoreFixtures.open(b -> b);
    }

    @Override
    protected int maxBatchBytes() {
        return StoreFixtures.MAX_BATCH_BYTES;
    }

    @Override
    protected StreamStore restart(StreamStore store) {
        return ((StoreFixtures.OwningStore) store).restart();
    }
}
