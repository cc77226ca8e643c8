package dev.strata.objectstore.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordBatch;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class StreamBatchCodecTest {

    @Test
    void recordBatchEncodesToTheSameBytesAsTheByteBufOverload() {
        byte[] payload = "records".getBytes(StandardCharsets.UTF_8);
        ByteBuf a = StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 9, 2, 40, RecordBatch.of(3, 77L, ByteBuffer.wrap(payload)));
        ByteBuf p = Unpooled.wrappedBuffer(payload);
        ByteBuf b = StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 9, 2, 40, 3, 77L, p);
        try {
            assertThat(ByteBufUtil.equals(a, b)).isTrue();
            assertThat(p.readerIndex()).isZero();
            assertThat(p.refCnt()).isEqualTo(1);
            StreamBatch v = StreamBatchCodec.wrap(a).verifyChecksum("test");
            assertThat(v.sizeBytes()).isEqualTo(StreamBatchDescriptor.HEADER_SIZE + payload.length);
            assertThat(v.encoded().readableBytes()).isEqualTo(a.readableBytes());
        } finally {
            a.release();
            b.release();
            p.release();
        }
    }

    @Property(tries = 200)
    void offsetAssignedAfterEncodingGivesTheSameBytes(@ForAll @Size(max = 300) byte[] payload,
            @ForAll long streamId, @ForAll @LongRange(min = 0) long epoch, @ForAll @IntRange(min = 1) int count,
            @ForAll @LongRange(min = 0, max = Long.MAX_VALUE - Integer.MAX_VALUE) long baseOffset, @ForAll long timestamp) {
        RecordBatch batch = RecordBatch.of(count, timestamp, ByteBuffer.wrap(payload));
        // the ByteBuf overload writes the offset with the header and the CRC right after: an independent path
        ByteBuf direct = StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, streamId, epoch, baseOffset, count,
                timestamp, Unpooled.wrappedBuffer(payload));
        ByteBuf late = StreamBatchCodec.encodeUnassigned(PooledByteBufAllocator.DEFAULT, streamId, epoch, batch);
        try {
            StreamBatchCodec.assignBaseOffset(late, baseOffset);
            assertThat(ByteBufUtil.equals(direct, late)).isTrue();
            StreamBatch read = StreamBatchCodec.wrap(late).verifyChecksum("test");
            assertThat(read.baseOffset()).isEqualTo(baseOffset);
            assertThat(read.count()).isEqualTo(count);
        } finally {
            direct.release();
            late.release();
        }
    }

    @Test
    void assigningAnOffsetThatWouldOverflowIsRejected() {
        ByteBuf late = StreamBatchCodec.encodeUnassigned(PooledByteBufAllocator.DEFAULT, 1, 0,
                RecordBatch.of(10, 0L, ByteBuffer.wrap(new byte[4])));
        try {
            assertThatThrownBy(() -> StreamBatchCodec.assignBaseOffset(late, Long.MAX_VALUE - 9))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("count=10");
            assertThatThrownBy(() -> StreamBatchCodec.assignBaseOffset(late, -1))
                    .isInstanceOf(IllegalArgumentException.class);
            StreamBatchCodec.assignBaseOffset(late, Long.MAX_VALUE - 10);
            assertThat(StreamBatchCodec.wrap(late).verifyChecksum("test").nextOffset()).isEqualTo(Long.MAX_VALUE);
        } finally {
            late.release();
        }
    }

    @Test
    void readAdvancesPastOneBatchAndVerifiesIt() {
        ByteBuf two = PooledByteBufAllocator.DEFAULT.directBuffer();
        ByteBuf p = Unpooled.wrappedBuffer(new byte[] {1, 2, 3});
        try {
            StreamBatchCodec.encodeTo(two, 1, 1, 0, 1, 0, p);
            StreamBatchCodec.encodeTo(two, 1, 1, 1, 4, 0, p);
            assertThat(StreamBatchCodec.read(two, "buf", 0).nextOffset()).isEqualTo(1);
            assertThat(StreamBatchCodec.read(two, "buf", 51).nextOffset()).isEqualTo(5);
            assertThat(two.isReadable()).isFalse();
        } finally {
            two.release();
            p.release();
        }
    }

    @Test
    void damagedHeadersAndPayloadsAreCorruptData() {
        ByteBuf p = Unpooled.wrappedBuffer(new byte[10]);
        ByteBuf b = StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 1, 1, 0, 1, 0, p);
        try {
            b.setByte(StreamBatchDescriptor.MAGIC_OFFSET, 2);
            assertThatThrownBy(() -> StreamBatchCodec.wrap(b, "src", 5)).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("magic").hasMessageContaining("src position=5");
            b.setByte(StreamBatchDescriptor.MAGIC_OFFSET, 1);
            b.setInt(StreamBatchDescriptor.LENGTH_OFFSET, 11);
            assertThatThrownBy(() -> StreamBatchCodec.wrap(b)).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("length");
            b.setInt(StreamBatchDescriptor.LENGTH_OFFSET, 10);
            b.setByte(StreamBatchDescriptor.HEADER_SIZE + 3, 1);
            assertThatThrownBy(() -> StreamBatchCodec.wrap(b).verifyChecksum("src")).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("CRC mismatch").hasMessageContaining("stored=");
            assertThatThrownBy(() -> StreamBatchCodec.wrap(b.slice(0, 20))).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("truncated");
        } finally {
            b.release();
            p.release();
        }
    }

    @Test
    void invalidArgumentsAreRejected() {
        ByteBuf p = Unpooled.EMPTY_BUFFER;
        assertThatThrownBy(() -> StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 1, 1, 0, 0, 0, p))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("count");
        assertThatThrownBy(() -> StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 1, 1, Long.MAX_VALUE, 2, 0, p))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
