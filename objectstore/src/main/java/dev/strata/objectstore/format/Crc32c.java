package dev.strata.objectstore.format;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C over {@link ByteBuf} ranges, through the JDK's intrinsic {@link CRC32C}. Stateless, and
 * safe for threads reading the same buffer at once: it goes through a new NIO view of the range
 * ({@code nioBuffer}), never the buffer's shared internal one, whose position and limit concurrent
 * readers (say, two fetches verifying the same cached batch) would overwrite under each other.
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
