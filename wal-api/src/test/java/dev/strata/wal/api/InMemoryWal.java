package dev.strata.wal.api;

import dev.strata.api.BackpressureException;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.api.StreamFencedException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The smallest {@link WriteAheadLog}: records in a {@link Log} shared by every WAL opened on it, each
 * durable as soon as it is stored (acknowledged before {@code append} returns), fenced by node epoch
 * as an object-store WAL is. The reference that shows the contract kit makes no assumption about a
 * device, and runs the kit's fencing test. Thread-safe: one monitor, the log's.
 */
final class InMemoryWal implements WriteAheadLog {
    /** Bytes of framing counted per record, as a real log's record header would take. */
    static final int FRAMING_BYTES = 16;

    /** The durable medium: what survives a WAL's close or crash. Guarded by its own monitor. */
    static final class Log {
        private final List<WalRecord> records = new ArrayList<>(); // bodies are unpooled heap copies
        private long trim;
        private long end;
        private long fence; // the highest node epoch assigned: lower ones are fenced
        private long writerEpoch;
    }

    private final Log log;
    private final long capacity;
    private final int maxRecordBytes;
    private long epoch; // guarded by log
    private boolean initialized; // guarded by log
    private boolean closed; // guarded by log
    private RecoveryReport report; // guarded by log

    InMemoryWal(Log log, long capacity, int maxRecordBytes) {
        this.log = log;
        this.capacity = capacity;
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public void assignNodeEpoch(long nodeEpoch) {
        synchronized (log) {
            if (initialized) {
                throw new IllegalStateException("WAL already initialized");
            }
            if (nodeEpoch < log.fence) {
                throw new StreamFencedException("node epoch " + nodeEpoch + " below the log's " + log.fence);
            }
            log.fence = nodeEpoch;
            epoch = nodeEpoch;
        }
    }

    @Override
    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    @Override
    public CompletableFuture<WalAppendResult> append(ByteBuf body) {
        try {
            int length = body.readableBytes();
            synchronized (log) {
                RuntimeException refused = refusal(length);
                if (refused != null) {
                    return CompletableFuture.failedFuture(refused);
                }
                init();
                long position = log.end;
                long next = position + FRAMING_BYTES + length;
                log.records.add(new WalRecord(position, next, Unpooled.wrappedBuffer(ByteBufUtil.getBytes(body))));
                log.end = next;
                log.writerEpoch = epoch;
                return CompletableFuture.completedFuture(new WalAppendResult(position, next));
            }
        } finally {
            body.release();
        }
    }

    /** Why an append of {@code length} bytes is refused now, or null. Holds: log. */
    private RuntimeException refusal(int length) {
        if (closed) {
            return new StorageException("WAL closed", false);
        }
        if (epoch < log.fence) {
            return new StreamFencedException("WAL fenced: node epoch " + epoch + " < " + log.fence);
        }
        if (length > maxRecordBytes) {
            return new RecordTooLargeException(length, maxRecordBytes);
        }
        if (log.end - log.trim + FRAMING_BYTES + length > capacity) {
            return new BackpressureException("WAL full: used=" + (log.end - log.trim) + " capacity=" + capacity);
        }
        return null;
    }

    @Override
    public boolean awaitRoom(int bodyBytes, long timeoutNanos) throws InterruptedException {
        if (bodyBytes < 0) {
            throw new IllegalArgumentException("bodyBytes must be >= 0, got " + bodyBytes);
        }
        long deadline = System.nanoTime() + timeoutNanos;
        synchronized (log) {
            while (refusal(bodyBytes) instanceof BackpressureException) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(log, left);
            }
            return true;
        }
    }

    @Override
    public void wakeRoomWaiters() {
        synchronized (log) {
            log.notifyAll();
        }
    }

    @Override
    public CompletableFuture<Void> trim(long position) {
        synchronized (log) {
            if (closed) {
                return CompletableFuture.failedFuture(new StorageException("WAL closed", false));
            }
            init();
            if (position > log.end) {
                throw new IllegalArgumentException("trim beyond the durable end: position=" + position + " end=" + log.end);
            }
            if (position > log.trim) {
                log.trim = position;
                log.records.removeIf(r -> r.nextPosition() <= position);
                log.notifyAll();
            }
            return CompletableFuture.completedFuture(null);
        }
    }

    /** The first use: the log as found is what recovery returns. Holds: log. */
    private void init() {
        if (initialized) {
            return;
        }
        initialized = true;
        long bodyBytes = 0;
        for (WalRecord r : log.records) {
            bodyBytes += r.body().readableBytes();
        }
        report = new RecoveryReport(log.trim, log.end, log.records.size(), bodyBytes, 0,
                RecoveryReport.StopReason.END_OF_LOG, RecoveryReport.StopReason.END_OF_LOG, "", log.writerEpoch, List.of());
    }

    @Override
    public WalRecovery recover() {
        List<WalRecord> snapshot;
        RecoveryReport found;
        synchronized (log) {
            init();
            found = report;
            snapshot = new ArrayList<>();
            for (WalRecord r : log.records) {
                if (r.position() >= found.startPosition() && r.nextPosition() <= found.endPosition()) {
                    snapshot.add(r);
                }
            }
        }
        Iterator<WalRecord> it = snapshot.iterator();
        return new WalRecovery() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public WalRecord next() {
                if (!it.hasNext()) {
                    throw new NoSuchElementException("no more WAL records");
                }
                WalRecord r = it.next();
                ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(r.body().readableBytes());
                copy.writeBytes(r.body(), r.body().readerIndex(), r.body().readableBytes());
                return new WalRecord(r.position(), r.nextPosition(), copy);
            }

            @Override
            public RecoveryReport report() {
                return found;
            }

            @Override
            public List<RecoveryReport.LostRegion> lostRegionsSoFar() {
                return List.of();
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public RecoveryReport recoveryReport() {
        synchronized (log) {
            init();
            return report;
        }
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public long used() {
        synchronized (log) {
            return log.end - log.trim;
        }
    }

    @Override
    public long free() {
        return capacity - used();
    }

    @Override
    public long writePosition() {
        synchronized (log) {
            return log.end;
        }
    }

    @Override
    public long directMemoryBytes() {
        return 0;
    }

    @Override
    public String backend() {
        return "memory";
    }

    @Override
    public void close() {
        synchronized (log) {
            closed = true;
            log.notifyAll();
        }
    }
}
