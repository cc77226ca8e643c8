package dev.strata.wal.objectstore;

/**
 * wal-api's WAL contract on an {@link ObjectStoreWal} over a local directory store, with early flush
 * set the other way from the default ({@link LocalObjectStoreWalSpiContractTest} runs the default).
 */
class LocalObjectStoreWalEarlyFlushSpiContractTest extends LocalObjectStoreWalSpiContractTest {
    @Override
    protected boolean earlyFlush() {
        return !ObjectWalOptions.DEFAULT_EARLY_FLUSH;
    }
}
