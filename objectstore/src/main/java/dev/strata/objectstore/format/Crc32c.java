package dev.strata.objectstore.format;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C over {@link ByteBuf} ranges, through the JDK's intrinsic {@link CRC32C}. Stateless, and
 * safe for threads checksumming the same buffer object at once: it reads through a new NIO view of
 * the range ({@code nioBuffer}), never the buffer's internal one, which Netty shares between all
 * callers of that buffer, so concurrent callers would move each other's position and limit.
 */
final class Crc32c {
    private Crc32c() {
    }

    /** CRC32C of {@code length} bytes of {@code buf} from absolute {@code index}. */
    static int compute(ByteBuf buf, int index, int length) {
        CRC32C crc = new CRC32C();
        update(crc, buf, index, length);
        return (int) crc.getValue();
    }

    static void update(CRC32C crc, ByteBuf buf, int index, int length) {
        if (length == 0) {
            return;
        }
        if (buf.nioBufferCount() == 1) {
            crc.update(buf.nioBuffer(index, length));
        } else {
            for (ByteBuffer b : buf.nioBuffers(index, length)) {
                crc.update(b);
            }
        }
    }
}
