package dev.strata.wal;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Iterator over the records found by the recovery scan at open, in order, read again from the
 * device in large aligned chunks. Each {@link WalRecord#body()} is a fresh buffer owned by the
 * caller, who must release it. Not thread-safe. {@link #close()} is idempotent and needed only to
 * stop early.
 *
 * <p>Failure: an I/O error surfaces as {@link StorageException} from {@link #hasNext()} or
 * {@link #next()}; bytes that no longer match what the scan at open verified (the device changed
 * underneath) as {@link CorruptDataException}. A corrupt record is never returned.
 */
public final class WalRecovery implements Iterator<WalRecord>, AutoCloseable {

    private final RecordScanner scanner;
    private final RecoveryReport report;
    private final ByteBufAllocator allocator;
    private final String file;
    private WalRecord next;
    private boolean done;

    WalRecovery(RecordScanner scanner, RecoveryReport report, ByteBufAllocator allocator, String file) {
        this.scanner = scanner;
        this.report = report;
        this.allocator = allocator;
        this.file = file;
    }

    /** What the scan at open found; the records this iterator returns are exactly those. */
    public RecoveryReport report() {
        return report;
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
            if (scanner.position() != report.endPosition()) {
                throw new CorruptDataException("WAL changed since open: file=" + file + " scanEnd="
                        + scanner.position() + " endAtOpen=" + report.endPosition() + " reason="
                        + scanner.stopReason() + " " + scanner.report(report.nodeEpoch()).detail());
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
            throw new NoSuchElementException("no more WAL records: endPosition=" + report.endPosition());
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
