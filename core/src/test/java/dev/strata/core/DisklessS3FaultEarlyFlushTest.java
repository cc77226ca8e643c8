package dev.strata.core;

/**
 * {@link DisklessS3FaultTest} with the WAL's early flush set the other way from its default: with
 * it on, the first append after a quiet spell is sent alone at once, and the held, failed and lost
 * PUTs fall on differently cut objects.
 */
class DisklessS3FaultEarlyFlushTest extends DisklessS3FaultTest {
    @Override
    protected boolean earlyFlush() {
        return !dev.strata.wal.objectstore.ObjectWalOptions.DEFAULT_EARLY_FLUSH;
    }
}
