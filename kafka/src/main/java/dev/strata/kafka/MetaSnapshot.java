package dev.strata.kafka;

import dev.strata.api.CorruptDataException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The partition's state other than its data, valid for the data stream up to (excluding)
 * {@code dataOffset}: the leader-epoch cache, the producers' state (ongoing transactions included)
 * and the aborted transactions whose marker is at or above the log start offset. Kept in the meta
 * stream as one or more consecutive stream batches ("chunks", so that a snapshot of many producers
 * fits the store's batch limit); each chunk has the header
 * {@code magic:int version:short dataOffset:long index:int count:int} followed by its part of the
 * body. The body: {@code epochs:int (epoch:int startOffset:long)*} then
 * {@code producers:int (producerId:long epoch:short lastTimestamp:long coordinatorEpoch:int
 * txnFirstOffset:long batches:int (firstSeq:int lastSeq:int firstOffset:long lastOffset:long
 * timestamp:long)*)*} then {@code aborted:int (producerId:long firstOffset:long lastOffset:long
 * lastStableOffset:long)*} then {@code timeIndexStreamId:long} (the id of the partition's
 * time-index stream, -1 if none), big-endian. Version 1 (written before transactions and the time
 * index existed) lacks {@code coordinatorEpoch}, {@code txnFirstOffset}, the aborted list and the
 * time-index id; it is still read.
 * The newest snapshot is the one whose last chunk ends the meta stream.
 *
 * <p>Immutable; thread-safe.
 */
record MetaSnapshot(long dataOffset, List<LeaderEpochEntry> epochs, List<ProducerStateTable.Entry> producers,
                    List<AbortedTxnIndex.Entry> aborted, long timeIndexStreamId) {

    static final int MAGIC = 0x534b4d53; // "SKMS"
    /** Version 2 added transactions (coordinator epoch, ongoing transaction, aborted list) and the time-index id. */
    static final short VERSION = 2;
    static final short VERSION_1 = 1;
    static final int CHUNK_HEADER_BYTES = 4 + 2 + 8 + 4 + 4;

    MetaSnapshot {
        epochs = List.copyOf(epochs);
        producers = List.copyOf(producers);
        aborted = List.copyOf(aborted);
    }

    /** One chunk as read back from the meta stream. */
    record Chunk(long dataOffset, int index, int count, ByteBuffer body, short version) {
    }

    /** The snapshot as chunks of at most {@code chunkBytes} each (header included). */
    List<ByteBuffer> toChunks(int chunkBytes) {
        return toChunks(chunkBytes, VERSION);
    }

    /**
     * The snapshot in the format of {@code version}; {@link #VERSION_1} leaves out the transactional
     * state (for tests that check older snapshots are still read).
     */
    List<ByteBuffer> toChunks(int chunkBytes, short version) {
        byte[] body = encodeBody(version >= VERSION);
        int perChunk = chunkBytes - CHUNK_HEADER_BYTES;
        int count = Math.max(1, (body.length + perChunk - 1) / perChunk);
        List<ByteBuffer> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * perChunk;
            int len = Math.min(perChunk, body.length - from);
            ByteBuffer b = ByteBuffer.allocate(CHUNK_HEADER_BYTES + len);
            b.putInt(MAGIC).putShort(version).putLong(dataOffset).putInt(i).putInt(count).put(body, from, len);
            out.add(b.flip());
        }
        return out;
    }

    private byte[] encodeBody(boolean v2) {
        int size = 4 + epochs.size() * 12 + 4 + (v2 ? 8 : 0);
        for (ProducerStateTable.Entry p : producers) {
            size += 8 + 2 + 8 + (v2 ? 4 + 8 : 0) + 4 + p.batches().size() * 32;
        }
        size += v2 ? 4 + aborted.size() * 32 : 0;
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(epochs.size());
        for (LeaderEpochEntry e : epochs) {
            b.putInt(e.epoch()).putLong(e.startOffset());
        }
        b.putInt(producers.size());
        for (ProducerStateTable.Entry p : producers) {
            b.putLong(p.producerId()).putShort(p.epoch()).putLong(p.lastTimestamp());
            if (v2) {
                b.putInt(p.coordinatorEpoch()).putLong(p.txnFirstOffset());
            }
            b.putInt(p.batches().size());
            for (ProducerStateTable.BatchMeta m : p.batches()) {
                b.putInt(m.firstSeq()).putInt(m.lastSeq()).putLong(m.firstOffset()).putLong(m.lastOffset()).putLong(m.timestamp());
            }
        }
        if (v2) {
            b.putInt(aborted.size());
            for (AbortedTxnIndex.Entry a : aborted) {
                b.putLong(a.producerId()).putLong(a.firstOffset()).putLong(a.lastOffset()).putLong(a.lastStableOffset());
            }
            b.putLong(timeIndexStreamId);
        }
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
            if (magic != MAGIC || (version != VERSION && version != VERSION_1)) {
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
            return new Chunk(dataOffset, index, count, b.slice(), version);
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
            if (c.dataOffset() != dataOffset || c.index() != i || c.count() != chunks.size()
                    || c.version() != chunks.get(0).version()) {
                throw new CorruptDataException("snapshot chunks do not belong together: expected index " + i + " of "
                        + chunks.size() + " at dataOffset " + dataOffset + ", got " + c);
            }
            total += c.body().remaining();
        }
        boolean v2 = chunks.get(0).version() >= VERSION;
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
                int coordinatorEpoch = v2 ? b.getInt() : ProducerStateTable.NO_COORDINATOR_EPOCH;
                long txnFirstOffset = v2 ? b.getLong() : ProducerStateTable.NO_TXN;
                int batchCount = b.getInt();
                List<ProducerStateTable.BatchMeta> batches = new ArrayList<>(batchCount);
                for (int j = 0; j < batchCount; j++) {
                    batches.add(new ProducerStateTable.BatchMeta(b.getInt(), b.getInt(), b.getLong(), b.getLong(), b.getLong()));
                }
                producers.add(new ProducerStateTable.Entry(producerId, epoch, batches, lastTimestamp, coordinatorEpoch,
                        txnFirstOffset));
            }
            int abortedCount = v2 ? b.getInt() : 0;
            List<AbortedTxnIndex.Entry> aborted = new ArrayList<>(abortedCount);
            for (int i = 0; i < abortedCount; i++) {
                aborted.add(new AbortedTxnIndex.Entry(b.getLong(), b.getLong(), b.getLong(), b.getLong()));
            }
            long timeIndexStreamId = v2 ? b.getLong() : -1;
            if (b.hasRemaining()) {
                throw new CorruptDataException("snapshot has " + b.remaining() + " trailing bytes: dataOffset=" + dataOffset);
            }
            return new MetaSnapshot(dataOffset, epochs, producers, aborted, timeIndexStreamId);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new CorruptDataException("truncated or invalid snapshot: dataOffset=" + dataOffset, e);
        }
    }
}
