package dev.strata.wal;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * {@link BlockDeviceWal}'s {@link WalRecovery}: the durable records after the trim point, in order,
 * read from the device in large aligned chunks. Regions that had been acknowledged but were found damaged are skipped and listed
 * in {@link RecoveryReport#lostRegions()} (the records after them are returned); the iteration ends
 * at the end of the log or at a torn tail. The first recovery after open is the WAL's only scan of the log (appends wait for
 * its end); later ones read the same records again. Each {@link WalRecord#body()} is a fresh buffer owned by the
 * caller, who must release it. Not thread-safe. {@link #close()} is idempotent and needed only to
 * stop early.
 *
 * <p>Failure: an I/O error surfaces as {@link StorageException} from {@link #hasNext()} or
 * {@link #next()}; bytes that no longer match what the scan at open verified (the device changed
 * underneath) as {@link CorruptDataException}. A corrupt record is never returned.
 */
final class BlockDeviceWalRecovery implements WalRecovery {

    private final RecordScanner scanner;
    private final long nodeEpoch;
    private final Consumer<RecoveryReport> onEnd;
    private RecoveryReport report;
    private final ByteBufAllocator allocator;
    private final String file;
    private WalRecord next;
    private boolean done;

    /**
     * @param report the scan result known from an earlier scan (the iterator must end exactly there),
     *     or null when this iterator is the scan that finds the end
     * @param onEnd receives this scan's report when it ends (the WAL then knows where to write)
     */
    BlockDeviceWalRecovery(RecordScanner scanner, RecoveryReport report, ByteBufAllocator allocator, String file, long nodeEpoch,
            Consumer<RecoveryReport> onEnd) {
        this.scanner = scanner;
        this.report = report;
        this.nodeEpoch = nodeEpoch;
        this.onEnd = onEnd;
        this.allocator = allocator;
        this.file = file;
    }

    @Override
    public RecoveryReport report() {
        if (report == null) {
            throw new IllegalStateException("recovery report available once iteration ended: position="
                    + scanner.position());
        }
        return report;
    }

    @Override
    public List<RecoveryReport.LostRegion> lostRegionsSoFar() {
        return List.copyOf(scanner.lostRegions());
    }

    @Override
    public boolean hasNext() {
        if (next != null) {
            return true;
        }
        if (done) {
            return false;
        }
        boolean found;
        try {
            found = scanner.next();
        } catch (IOException e) {
            done = true;
            throw new StorageException("WAL recovery read failed: file=" + file + " position=" + scanner.position(),
                    false, e);
        }
        if (!found) {
            done = true;
            if (report == null) {
                report = scanner.report(nodeEpoch);
                onEnd.accept(report);
                return false;
            }
            if (scanner.position() != report.endPosition()) {
                throw new CorruptDataException("WAL changed since open: file=" + file + " scanEnd="
                        + scanner.position() + " endAtOpen=" + report.endPosition() + " reason="
                        + scanner.stopReason() + " " + scanner.report(nodeEpoch).detail());
            }
            return false;
        }
        ByteBuf body = allocator.directBuffer(scanner.recordLength());
        body.writeBytes(scanner.recordBody());
        next = new WalRecord(scanner.recordPosition(), scanner.recordNextPosition(), body);
        return true;
    }

    @Override
    public WalRecord next() {
        if (!hasNext()) {
            throw new NoSuchElementException("no more WAL records: position=" + scanner.position());
        }
        WalRecord r = next;
        next = null;
        return r;
    }

    /** Stops iterating and releases a record fetched by {@link #hasNext()} but not returned. */
    @Override
    public void close() {
        done = true;
        if (next != null) {
            next.body().release();
            next = null;
        }
    }
}
