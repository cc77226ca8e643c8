package dev.strata.objectstore.format;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;

/**
 * Settings of an {@link ObjectWriter}. Immutable; built by {@link #builder()}, whose setters
 * validate their value.
 */
public final class ObjectWriterOptions {

    /** Default raw bytes per data block: 1 MiB, one ranged GET's worth (DESIGN). */
    public static final int DEFAULT_BLOCK_SIZE_BYTES = 1024 * 1024;
    /** Smallest block target accepted: below this the per-block header and index entry dominate. */
    public static final int MIN_BLOCK_SIZE_BYTES = 1024;
    /** Largest block target: a decoded block must fit comfortably in one buffer and one cache entry. */
    public static final int MAX_BLOCK_SIZE_BYTES = 64 * 1024 * 1024;

    private final int blockSizeBytes;
    private final CompressionCodec codec;
    private final boolean verifyBatchChecksums;
    private final ByteBufAllocator allocator;

    private ObjectWriterOptions(Builder b) {
        this.blockSizeBytes = b.blockSizeBytes;
        this.codec = b.codec;
        this.verifyBatchChecksums = b.verifyBatchChecksums;
        this.allocator = b.allocator;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** 1 MiB blocks, no compression, batch checksums verified, pooled allocator. */
    public static ObjectWriterOptions defaults() {
        return builder().build();
    }

    public int blockSizeBytes() {
        return blockSizeBytes;
    }

    public CompressionCodec codec() {
        return codec;
    }

    public boolean verifyBatchChecksums() {
        return verifyBatchChecksums;
    }

    public ByteBufAllocator allocator() {
        return allocator;
    }

    @Override
    public String toString() {
        return "ObjectWriterOptions[blockSizeBytes=" + blockSizeBytes + ", codec=" + codec
                + ", verifyBatchChecksums=" + verifyBatchChecksums + "]";
    }

    /** Validating builder. */
    public static final class Builder {
        private int blockSizeBytes = DEFAULT_BLOCK_SIZE_BYTES;
        private CompressionCodec codec = CompressionCodec.NONE;
        private boolean verifyBatchChecksums = true;
        private ByteBufAllocator allocator = PooledByteBufAllocator.DEFAULT;

        private Builder() {
        }

        /**
         * Target raw bytes per block; a block is closed once it reaches this (a single larger batch
         * makes a larger block). @throws IllegalArgumentException outside [MIN, MAX]
         */
        public Builder blockSizeBytes(int bytes) {
            if (bytes < MIN_BLOCK_SIZE_BYTES || bytes > MAX_BLOCK_SIZE_BYTES) {
                throw new IllegalArgumentException("blockSizeBytes must be in [" + MIN_BLOCK_SIZE_BYTES + ", "
                        + MAX_BLOCK_SIZE_BYTES + "], got " + bytes);
            }
            this.blockSizeBytes = bytes;
            return this;
        }

        public Builder codec(CompressionCodec codec) {
            if (codec == null) {
                throw new IllegalArgumentException("codec must not be null");
            }
            this.codec = codec;
            return this;
        }

        /**
         * Whether {@link ObjectWriter#append} checks each batch's CRC before uploading it (default
         * true: corruption in memory is caught before it becomes durable; CRC32C costs far less than
         * the upload).
         */
        public Builder verifyBatchChecksums(boolean verify) {
            this.verifyBatchChecksums = verify;
            return this;
        }

        public Builder allocator(ByteBufAllocator allocator) {
            if (allocator == null) {
                throw new IllegalArgumentException("allocator must not be null");
            }
            this.allocator = allocator;
            return this;
        }

        public ObjectWriterOptions build() {
            return new ObjectWriterOptions(this);
        }
    }
}
