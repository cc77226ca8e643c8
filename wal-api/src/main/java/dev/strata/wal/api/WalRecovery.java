package dev.strata.wal.api;

import java.util.Iterator;
import java.util.List;

/**
 * Iterator over the durable records after the trim point, in order, as returned by
 * {@link WriteAheadLog#recover()}. Regions that had been acknowledged but were found damaged are
 * skipped and listed in {@link RecoveryReport#lostRegions()} (the records after them are returned);
 * the iteration ends at the end of the log. Each {@link WalRecord#body()} is a fresh buffer owned
 * by the caller, who must release it. {@link #close()} is idempotent and needed only to stop early.
 *
 * <p>Thread-safety: not thread-safe; one thread iterates.
 *
 * <p>Failure: an I/O error surfaces as {@link dev.strata.api.StorageException} from
 * {@link #hasNext()} or {@link #next()}; bytes that no longer match what an earlier scan verified as
 * {@link dev.strata.api.CorruptDataException}. A corrupt record is never returned.
 */
public interface WalRecovery extends Iterator<WalRecord>, AutoCloseable {

    /**
     * What the recovery scan found: records, bytes, why it ended. Available once {@link #hasNext()}
     * returned false (or at once if the WAL had already scanned the log).
     *
     * @throws IllegalStateException if this iterator is still scanning
     */
    RecoveryReport report();

    /**
     * The lost regions (see {@link RecoveryReport#lostRegions()}) the scan has skipped so far: after
     * {@link #next()}, those before the record it returned. Lets the caller tell, record by record,
     * whether acknowledged data was lost before it (a gap in a stream's offsets after a lost region
     * is lost data, not an unacknowledged append).
     */
    List<RecoveryReport.LostRegion> lostRegionsSoFar();

    /** Stops iterating and releases a record fetched by {@link #hasNext()} but not returned. Idempotent. */
    @Override
    void close();
}
