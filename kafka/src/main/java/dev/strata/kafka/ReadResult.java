package dev.strata.kafka;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.record.internal.MemoryRecords;

/**
 * What a Fetch response needs from one read of a partition ({@link KafkaPartitionLog#read}), and the
 * Strata fetch buffers behind its records. <b>Close it</b> once the records have been used (for a
 * broker: once the response bytes that include them are sent, or copied).
 *
 * <h2>Memory</h2>
 * A read is <b>zero-copy</b>: its records are views of the buffers Strata's fetch returned (pooled,
 * usually direct memory; read-only), held until {@link #close()}. {@link #wireRecords()} hands them to
 * Kafka's network layer as they are: one stored batch is a {@link MemoryRecords}; several are a
 * {@link GatheredRecords}, because two stored batches are never contiguous in Strata's buffers (each
 * stream batch carries its own header before the Kafka batch), and Kafka's {@code SendBuilder} sends
 * its buffers with one gathering write. {@link #records()} is the same bytes as one
 * {@link MemoryRecords}: for several batches it joins them into one heap buffer on its first call
 * ({@link #copiedBytes()} then says how many bytes were copied). Gap fillers are never part of the
 * records. A read that returns no records holds nothing.
 *
 * <h2>Lifetime</h2>
 * {@link #close()} releases the fetch buffers; it is idempotent and never throws. After it,
 * {@link #records()} and {@link #wireRecords()} throw {@link IllegalStateException}, whether or not
 * this result held pooled memory (so that a caller that forgets the order fails in tests on heap
 * results too); the offsets and aborted transactions stay readable. Records (or a buffer of them)
 * obtained <em>before</em> close must not be read after close: their memory may hold other data by then.
 *
 * <h2>Concurrency</h2>
 * Thread-safe: the records may be read from several threads before close, and close may be called
 * from any thread (the buffers are released once).
 */
public final class ReadResult implements AutoCloseable {
    /** One batch's view, or {@link MemoryRecords#EMPTY}; null while several batches are not joined yet. */
    private MemoryRecords records; // guarded by: this (written once, when joined)
    /** Several batches' views; null for zero or one batch. */
    private final GatheredRecords gathered;
    private final int sizeInBytes;
    private final long highWatermark;
    private final long lastStableOffset;
    private final long logStartOffset;
    private final List<AbortedTransaction> abortedTransactions;
    private final long firstOffset;
    private int copiedBytes; // guarded by: this
    /** What close releases; {@link #CLOSED} once closed. */
    private final AtomicReference<Runnable> release;

    private static final Runnable CLOSED = () -> { };
    private static final Runnable NOTHING = () -> { };

    /**
     * @param records whole stored batches, as appended: a {@link MemoryRecords} (one batch, or none)
     *     or a {@link GatheredRecords} (several)
     * @param highWatermark end of the data a consumer may read; equals the log end offset, because an
     *     append is acknowledged only once durable
     * @param lastStableOffset end of the data a {@code read_committed} consumer may read: the first
     *     offset of the oldest undecided transaction (not below the log start offset), or the high
     *     watermark if there is none
     * @param logStartOffset the first offset a consumer may read
     * @param abortedTransactions for {@link Isolation#TXN_COMMITTED} reads, the aborted transactions
     *     that overlap the returned records, oldest marker first
     * @param firstOffset the offset the read asked for (named in the use-after-close message)
     * @param release releases the fetch buffers behind {@code records}; null if there are none
     */
    ReadResult(org.apache.kafka.common.record.internal.BaseRecords records, long highWatermark, long lastStableOffset,
               long logStartOffset, List<AbortedTransaction> abortedTransactions, long firstOffset, Runnable release) {
        if (records instanceof GatheredRecords several) {
            this.gathered = several;
        } else if (records instanceof MemoryRecords one) {
            this.gathered = null;
            this.records = one;
        } else {
            throw new IllegalArgumentException("records must be MemoryRecords or GatheredRecords, got " + records);
        }
        this.sizeInBytes = records.sizeInBytes();
        this.highWatermark = highWatermark;
        this.lastStableOffset = lastStableOffset;
        this.logStartOffset = logStartOffset;
        this.abortedTransactions = List.copyOf(abortedTransactions);
        this.firstOffset = firstOffset;
        this.release = new AtomicReference<>(release == null ? NOTHING : release);
    }

    /** A result without records and without buffers. */
    static ReadResult empty(long highWatermark, long lastStableOffset, long logStartOffset, long firstOffset) {
        return new ReadResult(MemoryRecords.EMPTY, highWatermark, lastStableOffset, logStartOffset, List.of(), firstOffset,
                null);
    }

    /**
     * Whole stored batches, as appended, in offset order, as one {@link MemoryRecords}; valid until
     * {@link #close()} (see the class comment: a read-only view of pooled direct memory for one
     * batch; several are joined into one heap buffer on the first call, counted by {@link #copiedBytes()}).
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public MemoryRecords records() {
        checkOpen();
        synchronized (this) {
            if (records == null) {
                ByteBuffer joined = ByteBuffer.allocate(sizeInBytes);
                gathered.copyTo(joined);
                records = MemoryRecords.readableRecords(joined.flip());
                copiedBytes = sizeInBytes;
            }
            return records;
        }
    }

    /**
     * The same batches as {@link #records()}, without copying: a {@link MemoryRecords} for none or
     * one stored batch, a {@link GatheredRecords} for several. What a broker puts in a Fetch response
     * ({@code FetchResponseData.PartitionData#setRecords}); Kafka's {@code SendBuilder} then sends the
     * fetch buffers themselves. Valid until {@link #close()}: close only after the bytes are sent.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public org.apache.kafka.common.record.internal.BaseRecords wireRecords() {
        checkOpen();
        if (gathered != null) {
            return gathered;
        }
        synchronized (this) {
            return records;
        }
    }

    /** Bytes of the records (of {@link #records()} and of {@link #wireRecords()}); readable after close. */
    public int sizeInBytes() {
        return sizeInBytes;
    }

    private void checkOpen() {
        if (release.get() == CLOSED) {
            throw new IllegalStateException("read result already closed: the records read at offset " + firstOffset
                    + " (" + sizeInBytes + " bytes) were released");
        }
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
     * Bytes this result copied to join several stored batches into one buffer: their size once
     * {@link #records()} was called on a result of several batches, else 0 ({@link #wireRecords()}
     * never copies).
     */
    public synchronized int copiedBytes() {
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
        return "ReadResult[offset=" + firstOffset + " bytes=" + sizeInBytes + " copiedBytes=" + copiedBytes()
                + " highWatermark=" + highWatermark + " lastStableOffset=" + lastStableOffset + " logStartOffset="
                + logStartOffset + " abortedTransactions=" + abortedTransactions.size() + (isClosed() ? " closed" : "") + "]";
    }
}
