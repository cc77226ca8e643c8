package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.ObjectWriter;
import dev.strata.objectstore.format.ObjectWriterOptions;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.format.WrittenObject;
import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.testing.S3ProxyServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The fixture's objectStoreUri opens an S3 storage, and an object written through it reads back over HTTP. */
class S3UriTest {
    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();

    @Test
    void objectWrittenThroughAUriBuiltStorageReadsBackOverHttp() {
        S3.createBucket("uri");
        try (ObjectStorage storage = ObjectStorages.fromUri(S3.objectStoreUri("uri", "cluster-a"))) {
            assertThat(storage).isInstanceOf(S3ObjectStorage.class);
            String key = ObjectKeys.dataObjectKey(ObjectKeys.ObjectType.STREAM_SET, 1);
            ObjectWriter w = new ObjectWriter(storage.startUpload(key, PutCondition.ifAbsent()),
                    ObjectWriterOptions.builder().blockSizeBytes(4096).build());
            for (int i = 0; i < 20; i++) {
                ByteBuf p = Unpooled.wrappedBuffer(new byte[1000]);
                w.append(StreamBatchCodec.encode(PooledByteBufAllocator.DEFAULT, 42, 1, i * 5L, 5, 0, p)).join();
                p.release();
            }
            WrittenObject obj = w.finish().join();
            assertThat(storage.list("").join()).extracting(ObjectInfo::key).containsExactly(key);
            ObjectReader r = ObjectReader.open(storage, key, obj.size()).join();
            int block = r.index().findBlock(42, 57);
            List<DataBlock> blocks = r.readBlocks(block, r.index().size()).join();
            try {
                assertThat(blocks.get(0).batches().get(blocks.get(0).batchIndexOf(57)).baseOffset()).isEqualTo(55);
                assertThat(blocks.get(blocks.size() - 1).endOffset()).isEqualTo(100);
            } finally {
                blocks.forEach(DataBlock::release);
            }
        }
    }
}
