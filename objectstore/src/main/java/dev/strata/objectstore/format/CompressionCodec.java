package dev.strata.objectstore.format;

import com.github.luben.zstd.Zstd;
import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * How a data block's bytes are stored; the id is the codec byte of {@link DataBlockDescriptor}.
 * A block is compressed as a unit. Decompression always knows the raw length from the block header
 * and fails with {@link CorruptDataException} if the output differs; LZ4 uses the safe
 * (bounds-checked) decompressor so that even bytes that passed the CRC by chance cannot make it read
 * or write out of bounds. Thread-safe (LZ4 and Zstd contexts here are stateless per call).
 */
public enum CompressionCodec {
    /** Stored as is. */
    NONE(0),
    /** LZ4 block format (lz4-java), fast; ~2x on JSON-like data. */
    LZ4(1),
    /** Zstandard at level {@link #ZSTD_LEVEL} (zstd-jni); slower, higher ratio. */
    ZSTD(2);

    /** Zstd level: 3 is zstd's own default, a good ratio at several hundred MB/s per core. */
    public static final int ZSTD_LEVEL = 3;

    private static final LZ4Factory LZ4_FACTORY = LZ4Factory.fastestInstance();
    private static final LZ4Compressor LZ4_COMPRESSOR = LZ4_FACTORY.fastCompressor();
    private static final LZ4SafeDecompressor LZ4_DECOMPRESSOR = LZ4_FACTORY.safeDecompressor();

    private final int id;

    CompressionCodec(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    /** The codec with {@code id}, or {@code null} if none has it. */
    public static CompressionCodec fromId(int id) {
        for (CompressionCodec c : values()) {
            if (c.id == id) {
                return c;
            }
        }
        return null;
    }

    /**
     * Compresses {@code src}'s readable bytes (not consumed, not released) into a new direct buffer.
     * Not for {@link #NONE}.
     */
    ByteBuf compress(ByteBuf src, ByteBufAllocator allocator) {
        ByteBuf in = contiguousDirect(src, allocator);
        try {
            int rawLength = in.readableBytes();
            ByteBuffer srcNio = in.nioBuffer(in.readerIndex(), rawLength);
            switch (this) {
                case LZ4 -> {
                    int bound = LZ4_COMPRESSOR.maxCompressedLength(rawLength);
                    ByteBuf out = allocator.directBuffer(bound);
                    try {
                        ByteBuffer dst = out.nioBuffer(0, bound);
                        int n = LZ4_COMPRESSOR.compress(srcNio, 0, rawLength, dst, 0, bound);
                        out.writerIndex(n);
                        return out;
                    } catch (RuntimeException e) {
                        out.release();
                        throw e;
                    }
                }
                case ZSTD -> {
                    int bound = (int) Zstd.compressBound(rawLength);
                    ByteBuf out = allocator.directBuffer(bound);
                    try {
                        ByteBuffer dst = out.nioBuffer(0, bound);
                        long n = Zstd.compressDirectByteBuffer(dst, 0, bound, srcNio, 0, rawLength, ZSTD_LEVEL);
                        if (Zstd.isError(n)) {
                            throw new IllegalStateException("zstd compression failed: " + Zstd.getErrorName(n));
                        }
                        out.writerIndex((int) n);
                        return out;
                    } catch (RuntimeException e) {
                        out.release();
                        throw e;
                    }
                }
                default -> throw new IllegalStateException("compress called for codec " + this);
            }
        } finally {
            in.release();
        }
    }

    /**
     * Decompresses {@code src}'s readable bytes (not consumed, not released) into a new direct buffer
     * of exactly {@code rawLength} bytes. Not for {@link #NONE}.
     *
     * @throws CorruptDataException if the data does not decompress to exactly {@code rawLength} bytes
     */
    ByteBuf decompress(ByteBuf src, int rawLength, ByteBufAllocator allocator, String where) {
        ByteBuf in = contiguousDirect(src, allocator);
        ByteBuf out = allocator.directBuffer(Math.max(rawLength, 1));
        try {
            ByteBuffer srcNio = in.nioBuffer(in.readerIndex(), in.readableBytes());
            ByteBuffer dst = out.nioBuffer(0, rawLength);
            long n;
            switch (this) {
                case LZ4 -> {
                    try {
                        n = LZ4_DECOMPRESSOR.decompress(srcNio, 0, srcNio.remaining(), dst, 0, rawLength);
                    } catch (LZ4Exception e) {
                        throw new CorruptDataException("LZ4 block does not decompress: " + where + " rawLength="
                                + rawLength + " cause=" + e.getMessage(), e);
                    }
                }
                case ZSTD -> {
                    n = Zstd.decompressDirectByteBuffer(dst, 0, rawLength, srcNio, 0, srcNio.remaining());
                    if (Zstd.isError(n)) {
                        throw new CorruptDataException("zstd block does not decompress: " + where + " rawLength="
                                + rawLength + " error=" + Zstd.getErrorName(n));
                    }
                }
                default -> throw new IllegalStateException("decompress called for codec " + this);
            }
            if (n != rawLength) {
                throw new CorruptDataException("block decompressed to the wrong length: " + where + " codec=" + this
                        + " expected=" + rawLength + " actual=" + n);
            }
            out.writerIndex(rawLength);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        } finally {
            in.release();
        }
    }

    /** A retained direct buffer with one NIO buffer holding {@code src}'s readable bytes (a copy if needed). */
    private static ByteBuf contiguousDirect(ByteBuf src, ByteBufAllocator allocator) {
        if (src.isDirect() && src.nioBufferCount() == 1) {
            return src.retainedSlice();
        }
        ByteBuf copy = allocator.directBuffer(Math.max(1, src.readableBytes()));
        copy.writeBytes(src, src.readerIndex(), src.readableBytes());
        return copy;
    }
}
