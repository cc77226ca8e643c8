package dev.strata.objectstore;

import dev.strata.objectstore.testing.InMemoryObjectStorage;

/** The test double other modules use obeys the same contract as the real storages. */
class InMemoryObjectStorageTest extends ObjectStorageContractTest {
    private static final InMemoryObjectStorage STORAGE = new InMemoryObjectStorage();

    @Override
    protected ObjectStorage storage() {
        return STORAGE;
    }

    @Override
    protected boolean usesMultipart() {
        return false;
    }

    @Override
    protected boolean measuresLatency() {
        return false;
    }
}
