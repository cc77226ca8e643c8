package dev.strata.objectstore;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * Writes one file as a byte stream through {@code O_DIRECT}: bytes are copied into an aligned
 * staging buffer and written in whole blocks at aligned positions; a trailing partial block is
 * carried to the next {@link #write}, and {@link #finish} writes it zero-padded, then truncates the
 * file to the exact length. The page cache is not involved: an object written once and read
 * through the engine's BlockCache is not cached twice, and no dirty pages pile up to be written back
 * in a burst beside the WAL.
 *
 * <p>Not thread-safe: one upload's writes run one at a time. Not durable by itself: the caller
 * forces the channel ({@link #channel()}) before relying on the data. A failed write leaves the
 * file in an unspecified state (the caller discards it).
 */
final class DirectFileWriter {
    private final FileChannel channel;
    private final int align;
    private final Staging staging;
    private final byte[] carry;
    private int carryLength;
    private long position; // aligned: bytes written to the file so far, padding of nothing yet

    private DirectFileWriter(FileChannel channel, int align, Staging staging) {
        this.channel = channel;
        this.align = align;
        this.staging = staging;
        this.carry = new byte[align];
    }

    /** Creates {@code path} (which must not exist) for direct writes in blocks of {@code align} bytes. */
    static DirectFileWriter create(Path path, int align, Staging staging) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                ExtendedOpenOption.DIRECT);
        return new DirectFileWriter(ch, align, staging);
    }

    FileChannel channel() {
        return channel;
    }

    /** Bytes handed to {@link #write} so far. */
    long length() {
        return position + carryLength;
    }

    /** Appends the remaining bytes of {@code sources} (their positions are not changed). */
    void write(ByteBuffer[] sources) throws IOException {
        ByteBuffer buf = staging.take();
        try {
            buf.clear();
            buf.put(carry, 0, carryLength);
            carryLength = 0;
            for (ByteBuffer source : sources) {
                int from = source.position();
                int end = source.limit();
                while (from < end) {
                    int n = Math.min(end - from, buf.remaining());
                    buf.put(buf.position(), source, from, n);
                    buf.position(buf.position() + n);
                    from += n;
                    if (!buf.hasRemaining()) {
                        writeBlocks(buf.flip());
                        buf.clear();
                    }
                }
            }
            int filled = buf.position();
            int whole = filled - filled % align;
            buf.get(whole, carry, 0, filled - whole);
            carryLength = filled - whole;
            if (whole > 0) {
                writeBlocks(buf.limit(whole).position(0));
            }
        } finally {
            staging.give(buf);
        }
    }

    /** Writes the carried partial block (zero-padded) and truncates the file to {@link #length()}. */
    void finish() throws IOException {
        long exact = length();
        if (carryLength > 0) {
            ByteBuffer buf = staging.take();
            try {
                buf.clear();
                buf.put(carry, 0, carryLength);
                while (buf.position() < align) {
                    buf.put((byte) 0);
                }
                carryLength = 0;
                writeBlocks(buf.flip());
            } finally {
                staging.give(buf);
            }
        }
        channel.truncate(exact);
    }

    private void writeBlocks(ByteBuffer blocks) throws IOException {
        while (blocks.hasRemaining()) {
            int n = channel.write(blocks, position);
            position += n;
            if (n % align != 0 && blocks.hasRemaining()) {
                // a direct write either completes or fails on a regular file; a partial one leaves an
                // unaligned remainder that no direct write could continue from
                throw new IOException("short direct write: wrote " + n + " of " + (n + blocks.remaining())
                        + " bytes at offset " + (position - n));
            }
        }
    }

    /**
     * Aligned staging buffers shared by the writers of one storage: at most {@code retained} are kept
     * for reuse (one per concurrent write task, i.e. per I/O thread); a task that finds none
     * allocates one, and one given back beyond the limit is left to the garbage collector.
     * Thread-safe.
     */
    static final class Staging {
        private final int bufferBytes;
        private final int align;
        private final ArrayBlockingQueue<ByteBuffer> free;

        Staging(int bufferBytes, int align, int retained) {
            if (bufferBytes <= 0 || align <= 0 || bufferBytes % align != 0 || Integer.bitCount(align) != 1) {
                throw new IllegalArgumentException("staging needs a power-of-two alignment dividing the buffer size: bufferBytes="
                        + bufferBytes + " align=" + align);
            }
            this.bufferBytes = bufferBytes;
            this.align = align;
            this.free = new ArrayBlockingQueue<>(Math.max(1, retained));
        }

        int align() {
            return align;
        }

        ByteBuffer take() {
            ByteBuffer b = free.poll();
            return b != null ? b : ByteBuffer.allocateDirect(bufferBytes + align).alignedSlice(align);
        }

        void give(ByteBuffer b) {
            free.offer(b);
        }

        /** Buffers kept for reuse now (for tests). */
        int retained() {
            return free.size();
        }
    }
}
