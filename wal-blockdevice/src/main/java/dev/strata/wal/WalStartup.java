package dev.strata.wal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.api.StorageException;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalRecovery;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds where the log ends, once, and starts the WAL's new generation there. {@code open} reads
 * only the header. If the owner iterates {@link #recover()} to the end first (the normal restart),
 * that scan defines where the log ends; otherwise the first call that needs the end (append, trim,
 * recoveryReport, used, ...) scans without copying bodies ({@link #ensureReady}). Either way,
 * before the first write the header of the new generation, starting at that end, is made durable,
 * and only then are appends accepted.
 *
 * <p>Concurrency: thread-safe. {@code initLock} (a monitor) serializes initialization and guards
 * {@code assignedNodeEpoch}; {@code ready} (volatile) publishes its end, and {@code report} is
 * written once under {@code initLock} before {@code ready} is set.
 */
final class WalStartup {
    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceWal.class);

    /** What the WAL does once its new generation's header is durable: starts writing at {@code end}. */
    @FunctionalInterface
    interface Start {
        /**
         * @param tail the bytes between the block boundary below {@code end} and {@code end}, or null
         */
        void at(long end, ByteBuffer tail, WalHeader next);
    }

    private final WalOptions options;
    private final WalFile file;
    private final WalHeader recoveredHeader;
    private final RecordScanner.Params scanParams;
    private final int maxRecordBytes;
    private final int blockSize;
    private final long capacity;
    private final Runnable checkNotClosed;
    private final Start start;
    private final Object initLock = new Object();
    /** Set once the log's end is known and the new generation's header is durable. */
    private volatile boolean ready;
    private RecoveryReport report; // written once under initLock before ready is set
    @GuardedBy("initLock")
    private OptionalLong assignedNodeEpoch = OptionalLong.empty();

    /**
     * @param checkNotClosed throws {@link StorageException} if the WAL closed (checked before the header write)
     * @param start starts the WAL at the log's end, after the new header is durable
     */
    WalStartup(WalOptions options, WalFile file, WalHeader recoveredHeader, RecordScanner.Params scanParams,
            int maxRecordBytes, Runnable checkNotClosed, Start start) {
        this.options = options;
        this.file = file;
        this.recoveredHeader = recoveredHeader;
        this.scanParams = scanParams;
        this.maxRecordBytes = maxRecordBytes;
        this.blockSize = recoveredHeader.blockSize();
        this.capacity = recoveredHeader.capacity();
        this.checkNotClosed = checkNotClosed;
        this.start = start;
    }

    /** Whether the WAL accepts appends (its end is known and its header durable). */
    boolean isReady() {
        return ready;
    }

    /** What the scan found; makes sure it ran. */
    RecoveryReport report() {
        ensureReady();
        return report;
    }

    /**
     * Makes sure the log's end is known and the WAL accepts appends; scans if nobody did yet.
     *
     * @throws StorageException the scan or the header write failed, or the WAL closed
     */
    void ensureReady() {
        if (ready) {
            return;
        }
        synchronized (initLock) {
            if (ready) {
                return;
            }
            try {
                RecordScanner scanner = new RecordScanner(file, scanParams, maxRecordBytes, -1, null);
                while (scanner.next()) {
                    // finding the end only
                }
                finishInit(scanner.report(recoveredHeader.nodeEpoch()));
            } catch (IOException e) {
                throw new StorageException("WAL recovery scan failed: file=" + file.path() + " error=" + e, false, e);
            }
        }
    }

    /** See {@link BlockDeviceWal#assignNodeEpoch}. */
    void assignNodeEpoch(long nodeEpoch) {
        synchronized (initLock) {
            if (ready) {
                throw new IllegalStateException("WAL already initialized: file=" + file.path());
            }
            assignedNodeEpoch = OptionalLong.of(nodeEpoch);
        }
    }

    /**
     * A recovery of the records from the trim point: before initialization the one scan of the log
     * (when it ends, the WAL knows where to write); after it, a scan up to the end found then.
     */
    WalRecovery recover() {
        String name = file.path().toString();
        if (ready) {
            RecordScanner scanner = new RecordScanner(file, scanParams, maxRecordBytes, report.endPosition(),
                    report.lostRegions());
            return new BlockDeviceWalRecovery(scanner, report, PooledByteBufAllocator.DEFAULT, name, recoveredHeader.nodeEpoch(), r -> {
            });
        }
        RecordScanner scanner = new RecordScanner(file, scanParams, maxRecordBytes, -1, null);
        return new BlockDeviceWalRecovery(scanner, null, PooledByteBufAllocator.DEFAULT, name, recoveredHeader.nodeEpoch(),
                this::recoveryScanFinished);
    }

    /** Called by a {@link WalRecovery} that scanned the whole log: its end is the WAL's end, no second read. */
    private void recoveryScanFinished(RecoveryReport scanned) {
        synchronized (initLock) {
            if (ready) {
                return;
            }
            try {
                finishInit(scanned);
            } catch (IOException e) {
                throw new StorageException("WAL header write failed: file=" + file.path() + " error=" + e, false, e);
            }
        }
    }

    /** Writes the new generation's header, then opens the WAL for appends. */
    @GuardedBy("initLock")
    private void finishInit(RecoveryReport scanned) throws IOException {
        checkNotClosed.run();
        long end = scanned.endPosition();
        for (RecoveryReport.LostRegion lostRegion : scanned.lostRegions()) {
            // A lost region the scan could not get past (damage in the last writes, proven by the clean
            // close) ends the scan at its start. New writes begin after it, not over it: the damage stays
            // where the next scan finds it again (proven by the new generation's durable marks or clean
            // close), until the owner trims past it. Overwriting it would erase the only evidence that
            // acknowledged data was lost (an owner that refused to open would then open silently).
            end = Math.max(end, lostRegion.endPosition());
        }
        ByteBuffer tail = null;
        if (end % blockSize != 0) {
            ByteBuffer block = Buffers.allocateAligned(blockSize, blockSize);
            file.read(WalHeaderDescriptor.dataOffset(blockSize) + WalMath.alignDown(end, blockSize) % capacity, block);
            tail = block.flip().limit((int) (end % blockSize)).slice();
        }
        OptionalLong epoch = assignedNodeEpoch.isPresent() ? assignedNodeEpoch : options.nodeEpoch();
        WalHeader next = recoveredHeader.nextGeneration(end, epoch.orElse(recoveredHeader.nodeEpoch()));
        HeaderSlots.write(file, next);
        report = scanned;
        start.at(end, tail, next);
        ready = true;
        if (scanned.acknowledgedDataLost()) {
            // reported, not handled here: the engine decides (the report says where and how much)
            LOG.error("WAL recovery found acknowledged data lost inside the log: file={} lostRegions={} lostBytes={} {}",
                    file.path(), scanned.lostRegions().size(), scanned.lostBytes(), scanned.detail());
        }
        LOG.info("WAL recovered: file={} records={} bodyBytes={} start={} end={} stopReason={} tornBytes={} generation={} {}",
                file.path(), scanned.records(), scanned.bodyBytes(), scanned.startPosition(), end, scanned.stopReason(),
                scanned.tornBytes(), next.generation(), scanned.detail());
    }
}
