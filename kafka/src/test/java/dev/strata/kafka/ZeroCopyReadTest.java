package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.MemoryStreamStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads hand out Strata's fetch buffers without copying (one stored batch as a {@link MemoryRecords},
 * several as a {@link GatheredRecords}), join several into one buffer only when {@code records()}
 * asks for it (once, counted), and release the buffers when the result is closed.
 * {@link OwnedBufferStore} serves fetches from buffers the test can write to and counts fetch
 * results not closed; the last test uses a durable store (Netty's leak detection, paranoid in
 * tests, reports a result that is never closed).
 */
class ZeroCopyReadTest {
    private static final long NOW = 1_750_000_000_000L;

    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore memory = new MemoryStreamStore(64 * 1024, 64L << 20);
    private final OwnedBufferStore store = new OwnedBufferStore(memory);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private KafkaPartitionLog create() {
        return KafkaPartitionLog.create(store, 0, PartitionLogConfig.builder().clock(clock).build()).join();
    }

    private static List<Long> baseOffsets(MemoryRecords records) {
        List<Long> out = new ArrayList<>();
        records.batches().forEach(b -> out.add(b.baseOffset()));
        return out;
    }

    private static MemoryRecords plainAt(long base, int count) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            records[i] = new SimpleRecord(NOW + i, ("k" + i).getBytes(), ("v" + base + "-" + i).getBytes());
        }
        return MemoryRecords.withRecords(base, Compression.NONE, 0, records);
    }

    /** Flips the last byte of {@code owned} (the store's memory) and returns the new value. */
    private static byte flipLastByte(ByteBuffer owned) {
        int at = owned.limit() - 1;
        byte flipped = (byte) ~owned.get(at);
        owned.put(at, flipped);
        return flipped;
    }

    @Test
    void aReadOfOneBatchIsAViewOfTheFetchBufferUntilClosed() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(Batches.plain(Compression.NONE, 3, 100, NOW), 0).join();
        byte[] stored = Batches.bytes(Batches.read(log, 0, 1 << 20, Isolation.HIGH_WATERMARK, true));

        ReadResult read = log.read(0, 1 << 20, Isolation.HIGH_WATERMARK, true).join();
        assertThat(Batches.bytes(read.records())).isEqualTo(stored);
        assertThat(read.copiedBytes()).isZero();
        assertThat(store.openFetches()).as("the fetch is held by the open result").isEqualTo(1);
        // the records are the fetch buffer's memory: a change to it shows through them
        byte flipped = flipLastByte(store.lastPayloads.get(0));
        ByteBuffer seen = read.records().buffer();
        assertThat(seen.get(seen.limit() - 1)).isEqualTo(flipped);

        read.close();
        assertThat(store.openFetches()).as("closed releases the fetch").isZero();
        read.close(); // harmless
        assertThat(store.openFetches()).isZero();
        assertThat(read.isClosed()).isTrue();
        assertThatThrownBy(read::records).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed").hasMessageContaining("offset 0").hasMessageContaining(stored.length + " bytes");
        assertThat(read.highWatermark()).as("the offsets stay readable").isEqualTo(3);
        log.close();
    }

    @Test
    void aReadOfSeveralBatchesIsViewsOfTheFetchBuffersAndRecordsJoinsThemOnce() throws Exception {
        KafkaPartitionLog log = create();
        List<byte[]> each = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            long base = log.appendAsLeader(Batches.plain(Compression.NONE, 3, 100, NOW), 0).join().baseOffset();
            each.add(Batches.bytes(Batches.read(log, base, 1, Isolation.HIGH_WATERMARK, true)));
        }
        ByteBuffer expected = ByteBuffer.allocate(each.stream().mapToInt(b -> b.length).sum());
        each.forEach(expected::put);

        try (ReadResult read = log.read(0, 1 << 20, Isolation.HIGH_WATERMARK, true).join()) {
            assertThat(store.openFetches()).as("the fetch is held by the open result").isEqualTo(1);
            assertThat(read.sizeInBytes()).isEqualTo(expected.capacity());
            GatheredRecords wire = (GatheredRecords) read.wireRecords();
            assertThat(wire.buffers()).hasSize(3);
            assertThat(wire.batches()).extracting(b -> b.baseOffset()).containsExactly(0L, 3L, 6L);
            assertThat(sent(wire)).as("what the network layer sends").isEqualTo(expected.array());
            assertThat(read.copiedBytes()).as("nothing copied for the wire").isZero();
            // the wire records are the fetch buffer's memory: a change to it shows through them
            byte flipped = flipLastByte(store.lastPayloads.get(2));
            ByteBuffer last = wire.buffers().get(2);
            assertThat(last.get(last.limit() - 1)).isEqualTo(flipped);
            flipLastByte(store.lastPayloads.get(2)); // back

            assertThat(Batches.bytes(read.records())).isEqualTo(expected.array());
            assertThat(read.copiedBytes()).as("records() joins them once").isEqualTo(expected.capacity());
            assertThat(read.records()).as("the same join on later calls").isSameAs(read.records());
            assertThat(read.copiedBytes()).isEqualTo(expected.capacity());
            flipLastByte(store.lastPayloads.get(2));
            assertThat(Batches.bytes(read.records())).as("a copy: the fetch buffer's change does not show")
                    .isEqualTo(expected.array());
            read.close();
            assertThat(store.openFetches()).as("closed releases the fetch").isZero();
            assertThatThrownBy(read::records).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(read::wireRecords).isInstanceOf(IllegalStateException.class);
        }
        log.close();
    }

    @Test
    void aSendOfGatheredRecordsResumesWhereAShortWriteStopped() throws Exception {
        KafkaPartitionLog log = create();
        for (int i = 0; i < 3; i++) {
            log.appendAsLeader(Batches.plain(Compression.NONE, 3, 100, NOW), 0).join();
        }
        try (ReadResult read = log.read(0, 1 << 20, Isolation.HIGH_WATERMARK, true).join()) {
            byte[] joined = Batches.bytes(read.records());
            ShortWritesChannel channel = new ShortWritesChannel(7); // at most 7 bytes per write call
            org.apache.kafka.common.network.Send send = read.wireRecords().toSend();
            assertThat(send.size()).isEqualTo(joined.length);
            while (!send.completed()) {
                send.writeTo(channel);
            }
            assertThat(channel.bytes.toByteArray()).isEqualTo(joined);
        }
        log.close();
    }

    /** The bytes {@code records}' send writes to a channel that takes everything. */
    private static byte[] sent(org.apache.kafka.common.record.internal.BaseRecords records) throws java.io.IOException {
        ShortWritesChannel channel = new ShortWritesChannel(Integer.MAX_VALUE);
        org.apache.kafka.common.network.Send send = records.toSend();
        while (!send.completed()) {
            send.writeTo(channel);
        }
        return channel.bytes.toByteArray();
    }

    /** A channel that takes at most {@code maxPerWrite} bytes per write call, like a full socket. */
    private static final class ShortWritesChannel implements org.apache.kafka.common.network.TransferableChannel {
        final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        private final int maxPerWrite;

        ShortWritesChannel(int maxPerWrite) {
            this.maxPerWrite = maxPerWrite;
        }

        @Override
        public int write(ByteBuffer src) {
            int n = Math.min(src.remaining(), maxPerWrite);
            for (int i = 0; i < n; i++) {
                bytes.write(src.get());
            }
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            long n = 0;
            for (int i = offset; i < offset + length && n < maxPerWrite; i++) {
                int before = srcs[i].remaining();
                int limit = (int) Math.min(before, maxPerWrite - n);
                ByteBuffer part = srcs[i].duplicate();
                part.limit(part.position() + limit);
                n += write(part);
                srcs[i].position(srcs[i].position() + limit);
            }
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs) {
            return write(srcs, 0, srcs.length);
        }

        @Override
        public boolean hasPendingWrites() {
            return false;
        }

        @Override
        public long transferFrom(java.nio.channels.FileChannel fileChannel, long position, long count) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void gapFillersAreLeftOutAndTheBatchAfterOneIsStillAView() {
        KafkaPartitionLog log = create();
        MemoryRecords first = plainAt(0, 3);
        MemoryRecords second = plainAt(10, 2); // offsets 3..9 become a filler batch
        int firstSize = first.sizeInBytes();
        int secondSize = second.sizeInBytes();
        log.appendWithOffsets(first).join();
        log.appendWithOffsets(second).join();

        store.maxBatchesPerFetch = 1; // the filler comes alone in the first fetch: closed at once
        try (ReadResult read = log.read(3, 1 << 20, Isolation.HIGH_WATERMARK, true).join()) {
            assertThat(baseOffsets(read.records())).containsExactly(10L);
            assertThat(read.records().sizeInBytes()).isEqualTo(secondSize);
            assertThat(read.copiedBytes()).isZero();
            assertThat(store.openFetches()).as("only the fetch holding the batch").isEqualTo(1);
            byte flipped = flipLastByte(store.lastPayloads.get(0));
            ByteBuffer seen = read.records().buffer();
            assertThat(seen.get(seen.limit() - 1)).isEqualTo(flipped);
        }
        assertThat(store.openFetches()).isZero();

        store.maxBatchesPerFetch = Integer.MAX_VALUE;
        try (ReadResult read = log.read(0, 1 << 20, Isolation.HIGH_WATERMARK, true).join()) {
            assertThat(baseOffsets(read.records())).containsExactly(0L, 10L);
            assertThat(read.records().sizeInBytes()).as("no filler bytes").isEqualTo(firstSize + secondSize);
            assertThat(read.copiedBytes()).isEqualTo(firstSize + secondSize);
        }
        assertThat(store.openFetches()).isZero();
        log.close();
    }

    @Test
    void aFailedReadReleasesTheFetchesItHeld() {
        KafkaPartitionLog log = create();
        for (int i = 0; i < 3; i++) {
            log.appendAsLeader(Batches.plain(Compression.NONE, 3, 100, NOW), 0).join();
        }
        store.maxBatchesPerFetch = 1; // so the read fetches three times
        store.failAfterFetches.set(1); // the first batch is taken, the second fetch fails

        assertThatThrownBy(() -> log.read(0, 1 << 20, Isolation.HIGH_WATERMARK, true).join())
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(LogStorageException.class).hasMessageContaining("offset=3");
        assertThat(store.openFetches()).isZero();
        log.close();
    }

    @Test
    void onADurableStoreTheRecordsAreTheStoresDirectMemoryFromTheCacheAndFromObjects() {
        long id;
        long metaId;
        byte[] stored;
        try (DurableStreamStore durable = openDurable()) {
            KafkaPartitionLog log = KafkaPartitionLog.create(durable, 0, config()).join();
            id = log.streamId();
            metaId = log.metaStreamId();
            log.appendAsLeader(Batches.plain(Compression.NONE, 5, 100, NOW), 0).join();
            log.appendAsLeader(Batches.plain(Compression.NONE, 5, 100, NOW), 0).join();
            try (ReadResult read = log.read(0, 1, Isolation.HIGH_WATERMARK, true).join()) { // from the log cache
                assertThat(baseOffsets(read.records())).containsExactly(0L);
                assertThat(read.records().buffer().isDirect()).as("not a heap copy").isTrue();
                assertThat(read.copiedBytes()).isZero();
                stored = Batches.bytes(read.records());
            }
            log.close();
        }
        try (DurableStreamStore durable = openDurable()) { // closing uploaded the data: now read from an object
            KafkaPartitionLog log = KafkaPartitionLog.open(durable, id, metaId, 0, config()).join();
            try (ReadResult read = log.read(0, 1, Isolation.HIGH_WATERMARK, true).join()) {
                assertThat(read.records().buffer().isDirect()).isTrue();
                assertThat(read.copiedBytes()).isZero();
                assertThat(Batches.bytes(read.records())).isEqualTo(stored);
            }
            try (ReadResult read = log.read(0, 1 << 20, Isolation.HIGH_WATERMARK, true).join()) {
                assertThat(baseOffsets(read.records())).containsExactly(0L, 5L);
                assertThat(read.copiedBytes()).isEqualTo(read.records().sizeInBytes());
            }
            log.close();
        }
    }

    private PartitionLogConfig config() {
        return PartitionLogConfig.builder().maxMessageBytes(64 * 1024).clock(clock).build();
    }

    private DurableStreamStore openDurable() {
        return KafkaPartitionLogDurableTest.openStore(dir);
    }
}
