package dev.strata.kafka;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.record.internal.MemoryRecords;

/**
 * What a Fetch response needs from one read of a partition ({@link KafkaPartitionLog#read}), and the
 * Strata fetch buffers behind its records. <b>Close it</b> once the records have been used (for a
 * broker: once the response bytes that include them are serialized or sent).
 *
 * <h2>Memory</h2>
 * A read that returns one stored batch is <b>zero-copy</b>: {@link #records()} is a view of the
 * buffer Strata's fetch returned (pooled, usually direct memory; read-only), held until
 * {@link #close()}. A read that returns several stored batches copies them once into one heap
 * buffer ({@link #copiedBytes()} says how many bytes) and releases the fetch buffers before the read
 * completes: Kafka's {@link MemoryRecords} is one contiguous buffer, and two stored batches are never
 * contiguous in Strata's buffers (each stream batch carries its own header before the Kafka batch).
 * Gap fillers are never part of the records. A read that returns no records holds nothing.
 *
 * <h2>Lifetime</h2>
 * {@link #close()} releases the fetch buffers; it is idempotent and never throws. After it,
 * {@link #records()} throws {@link IllegalStateException}, whether or not this result held pooled
 * memory (so that a caller that forgets the order fails in tests on heap results too); the offsets
 * and aborted transactions stay readable. A {@link MemoryRecords} (or a buffer of it) obtained
 * <em>before</em> close must not be read after close: its memory may hold other data by then.
 *
 * <h2>Concurrency</h2>
 * Thread-safe: the records may be read from several threads before close, and close may be called
 * from any thread (the buffers are released once).
 */
public final class ReadResult implements AutoCloseable {
    private final MemoryRecords records;
    private final long highWatermark;
    private final long lastStableOffset;
    private final long logStartOffset;
    private final List<AbortedTransaction> abortedTransactions;
    private final long firstOffset;
    private final int copiedBytes;
    /** What close releases; {@link #CLOSED} once closed. */
    private final AtomicReference<Runnable> release;

    private static final Runnable CLOSED = () -> { };
    private static final Runnable NOTHING = () -> { };

    /**
     * @param records whole stored batches, as appended
     * @param highWatermark end of the data a consumer may read; equals the log end offset, because an
     *     append is acknowledged only once durable
     * @param lastStableOffset end of the data a {@code read_committed} consumer may read: the first
     *     offset of the oldest undecided transaction (not below the log start offset), or the high
     *     watermark if there is none
     * @param logStartOffset the first offset a consumer may read
     * @param abortedTransactions for {@link Isolation#TXN_COMMITTED} reads, the aborted transactions
     *     that overlap the returned records, oldest marker first
     * @param firstOffset the offset the read asked for (named in the use-after-close message)
     * @param copiedBytes bytes copied to join several stored batches; 0 for a zero-copy or empty result
     * @param release releases the fetch buffers behind {@code records}; null if there are none
     */
    ReadResult(MemoryRecords records, long highWatermark, long lastStableOffset, long logStartOffset,
               List<AbortedTransaction> abortedTransactions, long firstOffset, int copiedBytes, Runnable release) {
        this.records = records;
        this.highWatermark = highWatermark;
        this.lastStableOffset = lastStableOffset;
        this.logStartOffset = logStartOffset;
        this.abortedTransactions = List.copyOf(abortedTransactions);
        this.firstOffset = firstOffset;
        this.copiedBytes = copiedBytes;
        this.release = new AtomicReference<>(release == null ? NOTHING : release);
    }

    /** A result without records and without buffers. */
    static ReadResult empty(long highWatermark, long lastStableOffset, long logStartOffset, long firstOffset) {
        return new ReadResult(MemoryRecords.EMPTY, highWatermark, lastStableOffset, logStartOffset, List.of(), firstOffset,
                0, null);
    }

    /**
     * Whole stored batches, as appended, in offset order; valid until {@link #close()} (see the class
     * comment: possibly a read-only view of pooled direct memory).
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public MemoryRecords records() {
        if (release.get() == CLOSED) {
            throw new IllegalStateException("read result already closed: the records read at offset " + firstOffset
                    + " (" + records.sizeInBytes() + " bytes) were released");
        }
        return records;
    }

    /** End of the data a consumer may read; equals the log end offset (an append is acknowledged once durable). */
    public long highWatermark() {
        return highWatermark;
    }

    /**
     * End of the data a {@code read_committed} consumer may read: the first offset of the oldest
     * undecided transaction (not below the log start offset), or the high watermark if there is none.
     */
    public long lastStableOffset() {
        return lastStableOffset;
    }

    /** The first offset a consumer may read. */
    public long logStartOffset() {
        return logStartOffset;
    }

    /**
     * For {@link Isolation#TXN_COMMITTED} reads, the aborted transactions that overlap the returned
     * records, oldest marker first (the Fetch response's {@code abortedTransactions}); empty for
     * {@link Isolation#HIGH_WATERMARK} reads and reads that return no records.
     */
    public List<AbortedTransaction> abortedTransactions() {
        return abortedTransactions;
    }

    /**
     * Bytes this read copied to join several stored batches into one buffer: 0 when the records are a
     * view of Strata's fetch buffer (one batch) or empty, else their size.
     */
    public int copiedBytes() {
        return copiedBytes;
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return release.get() == CLOSED;
    }

    /** Releases the fetch buffers behind the records; idempotent, never throws. */
    @Override
    public void close() {
        release.getAndSet(CLOSED).run();
    }

    @Override
    public String toString() {
        return "ReadResult[offset=" + firstOffset + " bytes=" + records.sizeInBytes() + " copiedBytes=" + copiedBytes
                + " highWatermark=" + highWatermark + " lastStableOffset=" + lastStableOffset + " logStartOffset="
                + logStartOffset + " abortedTransactions=" + abortedTransactions.size() + (isClosed() ? " closed" : "") + "]";
    }
}
