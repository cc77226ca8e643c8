package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.SendBuilder;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.common.requests.AbstractResponse;
import org.apache.kafka.common.requests.FetchResponse;
import org.apache.kafka.common.requests.ResponseHeader;
import org.junit.jupiter.api.Test;

/**
 * A response's records reach Netty as the very buffers they were in (no copy), and the bytes are
 * the response Kafka's own parser reads back.
 */
class SendBuffersTest {
    private static final short FETCH_VERSION = ApiKeys.FETCH.latestVersion();

    private static ByteBuffer directBatch(long baseOffset, String value) {
        MemoryRecords records = MemoryRecords.withRecords(baseOffset, Compression.NONE,
                new SimpleRecord(1_750_000_000_000L, "k".getBytes(), value.getBytes()));
        ByteBuffer direct = ByteBuffer.allocateDirect(records.sizeInBytes());
        direct.put(records.buffer().duplicate()).flip();
        return direct.asReadOnlyBuffer();
    }

    private static FetchResponseData fetchResponse(MemoryRecords records) {
        FetchResponseData.PartitionData partition = new FetchResponseData.PartitionData()
                .setPartitionIndex(0).setErrorCode(Errors.NONE.code()).setHighWatermark(1).setLastStableOffset(1)
                .setLogStartOffset(0).setRecords(records);
        return new FetchResponseData().setResponses(List.of(new FetchResponseData.FetchableTopicResponse()
                .setTopicId(Uuid.randomUuid()).setPartitions(List.of(partition))));
    }

    @Test
    void theRecordsAreAComponentOverTheirOwnMemoryAndTheBytesParseBack() {
        ByteBuffer batch = directBatch(0, "value-0");
        FetchResponseData data = fetchResponse(MemoryRecords.readableRecords(batch.duplicate()));
        ResponseHeader header = new ResponseHeader(42, ApiKeys.FETCH.responseHeaderVersion(FETCH_VERSION));

        ByteBuf bytes = SendBuffers.of(SendBuilder.buildResponseSend(header, data, FETCH_VERSION));
        try {
            assertThat(bytes).isInstanceOf(CompositeByteBuf.class);
            assertThat(address(batch)).as("Netty sees the direct buffer's address").isNotEqualTo(-1L);
            List<ByteBuffer> views = new ArrayList<>();
            for (ByteBuf component : (CompositeByteBuf) bytes) {
                views.add(component.nioBuffer());
            }
            assertThat(views).as("one component is the records' own direct memory, not a copy")
                    .anySatisfy(v -> {
                        assertThat(v.isDirect()).isTrue();
                        assertThat(v.remaining()).isEqualTo(batch.remaining());
                        assertThat(address(v)).isEqualTo(address(batch));
                    });

            int size = bytes.readInt();
            assertThat(size).as("SendBuilder's size prefix").isEqualTo(bytes.readableBytes());
            ByteBuffer heap = ByteBuffer.allocate(bytes.readableBytes());
            bytes.readBytes(heap);
            heap.flip();
            ResponseHeader parsedHeader = ResponseHeader.parse(heap, ApiKeys.FETCH.responseHeaderVersion(FETCH_VERSION));
            assertThat(parsedHeader.correlationId()).isEqualTo(42);
            FetchResponse parsed = (FetchResponse) AbstractResponse.parseResponse(ApiKeys.FETCH, new org.apache.kafka.common.protocol.ByteBufferAccessor(heap), FETCH_VERSION);
            MemoryRecords records = (MemoryRecords) parsed.data().responses().get(0).partitions().get(0).records();
            assertThat(records.buffer()).isEqualTo(batch.duplicate());
        } finally {
            bytes.release();
        }
    }

    /** The native address of a direct buffer's position, through Netty's view of it. */
    private static long address(ByteBuffer direct) {
        ByteBuf wrapped = io.netty.buffer.Unpooled.wrappedBuffer(direct.duplicate());
        try {
            return wrapped.hasMemoryAddress() ? wrapped.memoryAddress() + wrapped.readerIndex() : -1;
        } finally {
            wrapped.release();
        }
    }
}
