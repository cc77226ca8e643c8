package dev.strata.kafka;

import dev.strata.api.CorruptDataException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The partition's state other than its data, valid for the data stream up to (excluding)
 * {@code dataOffset}: the leader-epoch cache and the idempotent producers' state. Kept in the meta
 * stream as one or more consecutive stream batches ("chunks", so that a snapshot of many producers
 * fits the store's batch limit); each chunk has the header
 * {@code magic:int version:short dataOffset:long index:int count:int} followed by its part of the
 * body. The body: {@code epochs:int (epoch:int startOffset:long)*} then
 * {@code producers:int (producerId:long epoch:short lastTimestamp:long batches:int
 * (firstSeq:int lastSeq:int firstOffset:long lastOffset:long timestamp:long)*)*} then
 * {@code timeIndexStreamId:long} (the id of the partition's time-index stream, -1 if none), big-endian.
 * The newest snapshot is the one whose last chunk ends the meta stream.
 *
 * <p>Immutable; thread-safe.
 */
record MetaSnapshot(long dataOffset, List<LeaderEpochEntry> epochs, List<ProducerStateTable.Entry> producers,
                    long timeIndexStreamId) {

    static final int MAGIC = 0x534b4d53; // "SKMS"
    static final short VERSION = 2; // 2: timeIndexStreamId
    static final int CHUNK_HEADER_BYTES = 4 + 2 + 8 + 4 + 4;

    MetaSnapshot {
        epochs = List.copyOf(epochs);
        producers = List.copyOf(producers);
    }

    /** One chunk as read back from the meta stream. */
    record Chunk(long dataOffset, int index, int count, ByteBuffer body) {
    }

    /** The snapshot as chunks of at most {@code chunkBytes} each (header included). */
    List<ByteBuffer> toChunks(int chunkBytes) {
        byte[] body = encodeBody();
        int perChunk = chunkBytes - CHUNK_HEADER_BYTES;
        int count = Math.max(1, (body.length + perChunk - 1) / perChunk);
        List<ByteBuffer> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * perChunk;
            int len = Math.min(perChunk, body.length - from);
            ByteBuffer b = ByteBuffer.allocate(CHUNK_HEADER_BYTES + len);
            b.putInt(MAGIC).putShort(VERSION).putLong(dataOffset).putInt(i).putInt(count).put(body, from, len);
            out.add(b.flip());
        }
        return out;
    }

    private byte[] encodeBody() {
        int size = 4 + epochs.size() * 12 + 4 + 8;
        for (ProducerStateTable.Entry p : producers) {
            size += 8 + 2 + 8 + 4 + p.batches().size() * 32;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(epochs.size());
        for (LeaderEpochEntry e : epochs) {
            b.putInt(e.epoch()).putLong(e.startOffset());
        }
        b.putInt(producers.size());
        for (ProducerStateTable.Entry p : producers) {
            b.putLong(p.producerId()).putShort(p.epoch()).putLong(p.lastTimestamp()).putInt(p.batches().size());
            for (ProducerStateTable.BatchMeta m : p.batches()) {
                b.putInt(m.firstSeq()).putInt(m.lastSeq()).putLong(m.firstOffset()).putLong(m.lastOffset()).putLong(m.timestamp());
            }
        }
        b.putLong(timeIndexStreamId);
        return b.array();
    }

    /**
     * @throws CorruptDataException if {@code bytes} is not a chunk of this format
     */
    static Chunk parseChunk(ByteBuffer bytes, long metaOffset) {
        ByteBuffer b = bytes.duplicate();
        try {
            int magic = b.getInt();
            short version = b.getShort();
            if (magic != MAGIC || version != VERSION) {
                throw new CorruptDataException("not a partition-state snapshot chunk: metaOffset=" + metaOffset
                        + " magic=" + Integer.toHexString(magic) + " version=" + version);
            }
            long dataOffset = b.getLong();
            int index = b.getInt();
            int count = b.getInt();
            if (dataOffset < 0 || count < 1 || index < 0 || index >= count) {
                throw new CorruptDataException("invalid snapshot chunk header: metaOffset=" + metaOffset + " dataOffset="
                        + dataOffset + " index=" + index + " count=" + count);
            }
            return new Chunk(dataOffset, index, count, b.slice());
        } catch (BufferUnderflowException e) {
            throw new CorruptDataException("truncated snapshot chunk: metaOffset=" + metaOffset, e);
        }
    }

    /**
     * Decodes a snapshot from its chunks in order.
     *
     * @throws CorruptDataException if the chunks do not form one snapshot
     */
    static MetaSnapshot decode(List<Chunk> chunks) {
        long dataOffset = chunks.get(0).dataOffset();
        int total = 0;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk c = chunks.get(i);
            if (c.dataOffset() != dataOffset || c.index() != i || c.count() != chunks.size()) {
                throw new CorruptDataException("snapshot chunks do not belong together: expected index " + i + " of "
                        + chunks.size() + " at dataOffset " + dataOffset + ", got " + c);
            }
            total += c.body().remaining();
        }
        ByteBuffer b = ByteBuffer.allocate(total);
        chunks.forEach(c -> b.put(c.body().duplicate()));
        b.flip();
        try {
            int epochCount = b.getInt();
            List<LeaderEpochEntry> epochs = new ArrayList<>(epochCount);
            for (int i = 0; i < epochCount; i++) {
                epochs.add(new LeaderEpochEntry(b.getInt(), b.getLong()));
            }
            int producerCount = b.getInt();
            List<ProducerStateTable.Entry> producers = new ArrayList<>(producerCount);
            for (int i = 0; i < producerCount; i++) {
                long producerId = b.getLong();
                short epoch = b.getShort();
                long lastTimestamp = b.getLong();
                int batchCount = b.getInt();
                List<ProducerStateTable.BatchMeta> batches = new ArrayList<>(batchCount);
                for (int j = 0; j < batchCount; j++) {
                    batches.add(new ProducerStateTable.BatchMeta(b.getInt(), b.getInt(), b.getLong(), b.getLong(), b.getLong()));
                }
                producers.add(new ProducerStateTable.Entry(producerId, epoch, batches, lastTimestamp));
            }
            long timeIndexStreamId = b.getLong();
            if (b.hasRemaining()) {
                throw new CorruptDataException("snapshot has " + b.remaining() + " trailing bytes: dataOffset=" + dataOffset);
            }
            return new MetaSnapshot(dataOffset, epochs, producers, timeIndexStreamId);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new CorruptDataException("truncated or invalid snapshot: dataOffset=" + dataOffset, e);
        }
    }
}
