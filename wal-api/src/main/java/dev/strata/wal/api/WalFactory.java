package dev.strata.wal.api;

/**
 * How a store opens its {@link WriteAheadLog}: given to {@code Strata.builder().wal(factory)} to
 * choose a WAL other than the default block-device WAL under {@code dataDir} or {@code walPath}.
 * Called once per store open, on the opening thread, after the store locked its data directory (if
 * it has one) and before it touches its metadata. The store then owns the returned WAL: it calls
 * {@link WriteAheadLog#assignNodeEpoch} once it registered with its metadata, recovers, appends and
 * trims, and closes it with the store, also when a later step of the open fails.
 *
 * <p>Failure: throws rather than returning a WAL that cannot serve; the store refuses a WAL whose
 * {@link WriteAheadLog#maxRecordBytes()} is below {@link WalSizes#maxRecordBytes()}, and closes it.
 *
 * <p>Thread-safety: called from one thread at a time; a factory used by several stores must
 * tolerate being called by each.
 */
@FunctionalInterface
public interface WalFactory {

    /**
     * Opens the WAL for a store that computed {@code sizes}.
     *
     * @throws dev.strata.api.StorageInUseException if another owner has the WAL open and the
     *     implementation refuses a second one
     * @throws dev.strata.api.StorageException if the WAL cannot be opened
     * @throws dev.strata.api.CorruptDataException if what the WAL holds is damaged beyond recovery
     */
    WriteAheadLog open(WalSizes sizes);
}
