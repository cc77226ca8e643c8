package dev.strata.kafka;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.network.TransferableChannel;
import org.apache.kafka.common.record.internal.BaseRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.RecordsSend;

/**
 * Whole Kafka record batches that lie in several buffers, handed to Kafka's network layer as they
 * are: the {@link BaseRecords} of a Fetch response when a read returns several stored batches
 * ({@link ReadResult#wireRecords()}). Kafka's {@code SendBuilder} sends it with a gathering write of
 * the buffers (its {@link #toSend()}), so the bytes go from Strata's fetch buffers to the socket
 * without being joined first; on the wire they are one records field, exactly the concatenation of
 * the buffers, which a consumer parses as it parses any Fetch response.
 *
 * <p>Immutable; the buffers are read-only views, each holding whole batches. Valid only while the
 * {@link ReadResult} it came from is open (its memory is Strata's pooled fetch buffers). Thread-safe:
 * every accessor works on its own duplicates.
 */
public final class GatheredRecords implements BaseRecords {
    private final List<ByteBuffer> buffers;
    private final int sizeInBytes;

    /**
     * @param buffers whole record batches, in offset order; their readable bytes are taken (views,
     *     not copies)
     * @throws IllegalArgumentException if there are fewer than two buffers (one is a {@link MemoryRecords})
     *     or their total exceeds {@link Integer#MAX_VALUE}
     */
    GatheredRecords(List<ByteBuffer> buffers) {
        if (buffers.size() < 2) {
            throw new IllegalArgumentException("GatheredRecords joins at least two buffers, got " + buffers.size());
        }
        List<ByteBuffer> views = new ArrayList<>(buffers.size());
        long size = 0;
        for (ByteBuffer b : buffers) {
            views.add(b.slice().asReadOnlyBuffer());
            size += b.remaining();
        }
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("records of " + size + " bytes exceed one Fetch response's limit");
        }
        this.buffers = List.copyOf(views);
        this.sizeInBytes = (int) size;
    }

    @Override
    public int sizeInBytes() {
        return sizeInBytes;
    }

    /** The buffers (read-only views, position 0), in offset order; their concatenation is the records. */
    public List<ByteBuffer> buffers() {
        return buffers.stream().map(ByteBuffer::duplicate).toList();
    }

    /** Every batch, in offset order, read in place (no copy). */
    public List<MutableRecordBatch> batches() {
        List<MutableRecordBatch> out = new ArrayList<>();
        for (ByteBuffer b : buffers) {
            MemoryRecords.readableRecords(b.duplicate()).batches().forEach(out::add);
        }
        return out;
    }

    /** Copies every byte into {@code out} (from its position, which advances by {@link #sizeInBytes()}). */
    void copyTo(ByteBuffer out) {
        for (ByteBuffer b : buffers) {
            out.put(b.duplicate());
        }
    }

    @Override
    public RecordsSend<GatheredRecords> toSend() {
        return new GatheredSend(this);
    }

    /** The buffers from byte {@code from} of the records on, as fresh duplicates (a send's next write). */
    private ByteBuffer[] viewsFrom(int from) {
        List<ByteBuffer> out = new ArrayList<>(buffers.size());
        int skip = from;
        for (ByteBuffer b : buffers) {
            if (skip >= b.remaining()) {
                skip -= b.remaining();
                continue;
            }
            ByteBuffer view = b.duplicate();
            view.position(view.position() + skip);
            skip = 0;
            out.add(view);
        }
        return out.toArray(ByteBuffer[]::new);
    }

    @Override
    public String toString() {
        return "GatheredRecords[buffers=" + buffers.size() + " bytes=" + sizeInBytes + "]";
    }

    /** Writes the buffers with gathering writes, resuming where the last write stopped. */
    private static final class GatheredSend extends RecordsSend<GatheredRecords> {
        GatheredSend(GatheredRecords records) {
            super(records, records.sizeInBytes());
        }

        @Override
        protected int writeTo(TransferableChannel channel, int previouslyWritten, int remaining) throws IOException {
            return Math.toIntExact(channel.write(records().viewsFrom(previouslyWritten)));
        }
    }
}
