package dev.strata.objectstore.format;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Builds one encoded data block ({@link DataBlockDescriptor}) from batch buffers. Uncompressed
 * blocks are a gather of header and the batch buffers themselves (no copy); compressed ones copy
 * once into the compressor. Falls back to {@link CompressionCodec#NONE} when compression does not
 * make the block smaller (e.g. random bytes). Stateless.
 */
final class DataBlockEncoder {
    private DataBlockEncoder() {
    }

    /**
     * Encodes a block of {@code batches} (takes ownership of every buffer in the list, on every
     * outcome). Returns a buffer the caller owns.
     */
    static ByteBuf encode(List<ByteBuf> batches, int recordCount, CompressionCodec codec, ByteBufAllocator allocator) {
        CompositeByteBuf raw = allocator.compositeDirectBuffer(Math.max(2, batches.size()));
        for (ByteBuf b : batches) {
            raw.addComponent(true, b);
        }
        int rawLength = raw.readableBytes();
        ByteBuf stored = raw;
        CompressionCodec used = CompressionCodec.NONE;
        if (codec != CompressionCodec.NONE) {
            ByteBuf compressed;
            try {
                compressed = codec.compress(raw, allocator);
            } catch (RuntimeException e) {
                raw.release();
                throw e;
            }
            if (compressed.readableBytes() < rawLength) {
                raw.release();
                stored = compressed;
                used = codec;
            } else {
                compressed.release();
            }
        }
        ByteBuf header = allocator.directBuffer(DataBlockDescriptor.HEADER_SIZE);
        header.writeInt(DataBlockDescriptor.MAGIC);
        header.writeByte(used.id());
        header.writeByte(0);
        header.writeShort(0);
        header.writeInt(rawLength);
        header.writeInt(stored.readableBytes());
        header.writeInt(recordCount);
        CRC32C crc = new CRC32C();
        Crc32c.update(crc, header, 0, DataBlockDescriptor.CRC_OFFSET);
        Crc32c.update(crc, stored, stored.readerIndex(), stored.readableBytes());
        header.writeInt((int) crc.getValue());
        CompositeByteBuf block = allocator.compositeDirectBuffer(2);
        block.addComponent(true, header);
        block.addComponent(true, stored);
        return block;
    }
}
