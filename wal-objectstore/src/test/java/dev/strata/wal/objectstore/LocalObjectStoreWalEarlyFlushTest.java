package dev.strata.wal.objectstore;

/**
 * The WAL contract and fault injection on a local directory store, with early flush on for every
 * test that does not choose (the default's opposite; {@link LocalObjectStoreWalTest} runs the default).
 */
class LocalObjectStoreWalEarlyFlushTest extends LocalObjectStoreWalTest {
    @Override
    protected boolean earlyFlush() {
        return !ObjectWalOptions.DEFAULT_EARLY_FLUSH;
    }
}
