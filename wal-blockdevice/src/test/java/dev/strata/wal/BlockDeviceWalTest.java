package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.assertSameRecords;
import static dev.strata.wal.WalTesting.assumeAvailable;
import static dev.strata.wal.WalTesting.buf;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.options;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.testkit.Futures;
import dev.strata.wal.WalTesting.Rec;
import dev.strata.wal.api.RecoveryReport.StopReason;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The WAL contract, run against every backend on real files. */
class BlockDeviceWalTest {

    @TempDir
    Path dir;

    private Path file() {
        return dir.resolve("wal.dat");
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "BUFFERED", "IO_URING", "PWRITE"})
    void appendedRecordsAreRecoveredInOrderAfterReopen(WalOptions.Backend backend) {
        assumeAvailable(backend);
        List<Rec> written = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).nodeEpoch(7).build())) {
            assertThat(wal.backend()).isEqualTo(switch (backend) {
                case DIRECT -> "filechannel-direct";
                case BUFFERED -> "filechannel-buffered";
                case PWRITE -> "pwritev2";
                default -> "io_uring";
            });
            assertThat(wal.recoveryReport().records()).isZero();
            for (int i = 0; i < 50; i++) {
                written.add(append(wal, bytes(i, 1 + i * 97)));
            }
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            RecoveryReport report = wal.recoveryReport();
            assertThat(report.records()).isEqualTo(50);
            assertThat(report.stopReason()).isEqualTo(StopReason.END_OF_LOG);
            assertThat(report.tornBytes()).isZero();
            assertThat(report.nodeEpoch()).isEqualTo(7);
            assertThat(report.bodyBytes()).isEqualTo(written.stream().mapToLong(r -> r.body().length).sum());
            assertSameRecords(recoverAll(wal), written);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "BUFFERED", "IO_URING", "PWRITE"})
    void concurrentAppendsCompleteInAppendOrderWithContiguousPositions(WalOptions.Backend backend) throws Exception {
        assumeAvailable(backend);
        ConcurrentLinkedQueue<Long> completionOrder = new ConcurrentLinkedQueue<>();
        List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
        // 8 MiB ring: an append that finds an idle slot is written alone, padded to a 4 KiB block
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).capacityBytes(8 << 20)
                .writeBufferBytes(1 << 20).groupCommitBytes(256 << 10).build())) {
            for (int i = 0; i < 400; i++) {
                futures.add(wal.append(buf(bytes(i, 100 + (i % 7) * 300)))
                        .thenApply(r -> {
                            completionOrder.add(r.position());
                            return r;
                        }));
            }
            List<WalAppendResult> results = futures.stream().map(Futures::await).toList();
            for (int i = 1; i < results.size(); i++) {
                assertThat(results.get(i).position()).as("record %d", i).isEqualTo(results.get(i - 1).nextPosition());
            }
            // futures complete in append order
            assertThat(List.copyOf(completionOrder)).isSorted();
            assertThat(recoverAll(wal)).isEmpty(); // recover() returns what was durable at open
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            assertThat(wal.recoveryReport().records()).isEqualTo(400);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "BUFFERED", "IO_URING", "PWRITE"})
    void trimmedRecordsAreNotRecoveredAndSpaceIsReusedAcrossManyLaps(WalOptions.Backend backend) {
        assumeAvailable(backend);
        List<Rec> live = new ArrayList<>();
        long appendedBytes = 0;
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).capacityBytes(256 << 10).build())) {
            for (int i = 0; appendedBytes < 8 * wal.capacity(); i++) {
                Rec r = append(wal, bytes(i, 500 + (i * 7919) % 20_000));
                appendedBytes += r.body().length;
                live.add(r);
                if (live.size() > 6) {
                    Rec oldest = live.remove(0);
                    Futures.await(wal.trim(oldest.nextPosition()));
                }
            }
            assertThat(wal.writePosition()).isGreaterThan(8 * wal.capacity());
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            assertThat(wal.capacity()).isEqualTo(256 << 10);
            assertSameRecords(recoverAll(wal), live);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "BUFFERED", "IO_URING", "PWRITE"})
    void fullWalFailsFastWithBackpressureAndAcceptsAgainAfterTrim(WalOptions.Backend backend) {
        assumeAvailable(backend);
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).capacityBytes(128 << 10).build())) {
            List<Rec> acked = new ArrayList<>();
            Throwable failure = null;
            for (int i = 0; i < 100 && failure == null; i++) {
                try {
                    acked.add(append(wal, bytes(i, 10_000)));
                } catch (BackpressureException e) {
                    failure = e;
                }
            }
            assertThat(failure).isInstanceOf(BackpressureException.class).hasMessageContaining("WAL full");
            assertThat(((BackpressureException) failure).isRetriable()).isTrue();
            assertThat(acked.size()).isBetween(10, 13);
            // nothing untrimmed was overwritten
            assertThat(recoverAfterReopenCount(wal)).isTrue();
            Futures.await(wal.trim(acked.get(acked.size() - 1).nextPosition()));
            Rec after = append(wal, bytes(1000, 10_000));
            assertThat(after.position()).isGreaterThanOrEqualTo(acked.get(acked.size() - 1).nextPosition());
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            assertThat(recoverAll(wal)).hasSize(1).first().extracting(Rec::position).isNotNull();
        }
    }

    private static boolean recoverAfterReopenCount(BlockDeviceWal wal) {
        return wal.used() <= wal.capacity();
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "IO_URING", "PWRITE"})
    void recordLargerThanTheWalCanHoldFailsWithRecordTooLarge(WalOptions.Backend backend) {
        assumeAvailable(backend);
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            ByteBuf big = PooledByteBufAllocator.DEFAULT.directBuffer(wal.maxRecordBytes() + 1);
            big.writeZero(wal.maxRecordBytes() + 1);
            assertThatThrownBy(() -> Futures.await(wal.append(big))).isInstanceOf(RecordTooLargeException.class);
            assertThat(big.refCnt()).as("body released").isZero();
            // the largest accepted record round-trips
            Rec max = append(wal, bytes(1, wal.maxRecordBytes()));
            assertThat(max.body()).hasSize(wal.maxRecordBytes());
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "IO_URING", "PWRITE"})
    void appendAfterCloseFailsWithStorageException(WalOptions.Backend backend) {
        assumeAvailable(backend);
        BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build());
        append(wal, bytes(1, 10));
        wal.close();
        wal.close();
        ByteBuf b = buf(bytes(2, 10));
        assertThatThrownBy(() -> Futures.await(wal.append(b))).isInstanceOf(StorageException.class)
                .hasMessageContaining("closed");
        assertThat(b.refCnt()).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "IO_URING", "PWRITE"})
    void reopenWithoutWritesKeepsRecordsAndNewRecordsContinueTheChain(WalOptions.Backend backend) {
        assumeAvailable(backend);
        List<Rec> all = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
                assertSameRecords(recoverAll(wal), all);
                if (round % 2 == 0) {
                    for (int i = 0; i < 3; i++) {
                        all.add(append(wal, bytes(round * 10 + i, 333 * (i + 1))));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT"})
    void recoverReturnsFreshBuffersTheCallerOwns(WalOptions.Backend backend) {
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            append(wal, bytes(1, 100));
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build());
                WalRecovery rec = wal.recover()) {
            assertThat(rec.hasNext()).isTrue();
            WalRecord r = rec.next();
            assertThat(r.body().refCnt()).isEqualTo(1);
            r.body().release();
            assertThat(rec.hasNext()).isFalse();
            assertThat(rec.report().records()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT"})
    void trimBeyondTheDurableEndIsAProgrammingError(WalOptions.Backend backend) {
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            Rec r = append(wal, bytes(1, 100));
            assertThatThrownBy(() -> wal.trim(r.nextPosition() + 4096)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("durableEnd=" + r.nextPosition());
            Futures.await(wal.trim(r.nextPosition()));
            assertThat(wal.used()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "IO_URING", "PWRITE"})
    void rateLimitedWalSubmitsFromTheWriterThreadAndKeepsOrder(WalOptions.Backend backend) {
        assumeAvailable(backend);
        List<Rec> written = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).maxWriteOpsPerSecond(1_000_000)
                .maxWriteBytesPerSecond(1L << 40).build())) {
            List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
            List<byte[]> bodies = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                bodies.add(bytes(i, 700));
                futures.add(wal.append(buf(bodies.get(i))));
            }
            for (int i = 0; i < 30; i++) {
                WalAppendResult r = Futures.await(futures.get(i));
                written.add(new Rec(r.position(), r.nextPosition(), bodies.get(i)));
            }
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            assertSameRecords(recoverAll(wal), written);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "IO_URING", "PWRITE"})
    void recoveryIteratedFirstIsTheOnlyScanAndAppendsContinueWhereItEnded(WalOptions.Backend backend) {
        assumeAvailable(backend);
        List<Rec> written = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            for (int i = 0; i < 5; i++) {
                written.add(append(wal, bytes(i, 1234)));
            }
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            List<Rec> recovered = new ArrayList<>();
            try (WalRecovery rec = wal.recover()) {
                assertThatThrownBy(rec::report).isInstanceOf(IllegalStateException.class);
                while (rec.hasNext()) {
                    WalRecord r = rec.next();
                    recovered.add(new Rec(r.position(), r.nextPosition(), io.netty.buffer.ByteBufUtil.getBytes(r.body())));
                    r.body().release();
                }
                assertThat(rec.report()).isSameAs(wal.recoveryReport());
                assertThat(rec.report().records()).isEqualTo(5);
            }
            assertSameRecords(recovered, written);
            written.add(append(wal, bytes(9, 10)));
            assertThat(written.get(5).position()).isEqualTo(written.get(4).nextPosition());
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            assertSameRecords(recoverAll(wal), written);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "IO_URING", "PWRITE"})
    void appendDuringAnUnfinishedRecoveryDoesNotLeakIntoIt(WalOptions.Backend backend) {
        assumeAvailable(backend);
        List<Rec> written = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build())) {
            for (int i = 0; i < 4; i++) {
                written.add(append(wal, bytes(i, 333)));
            }
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file(), backend).build());
                WalRecovery rec = wal.recover()) {
            WalRecord first = rec.next();
            first.body().release();
            Rec late = append(wal, bytes(100, 50)); // the WAL scans on its own and continues after record 4
            assertThat(late.position()).isEqualTo(written.get(3).nextPosition());
            int rest = 0;
            while (rec.hasNext()) {
                rec.next().body().release();
                rest++;
            }
            assertThat(rest).isEqualTo(3);
            // the scan may already hold the old bytes in its read buffer, or read the new record and reject it
            assertThat(rec.report().stopReason()).isIn(StopReason.END_OF_LOG, StopReason.STALE_GENERATION);
            assertThat(rec.report().endPosition()).isEqualTo(late.position());
            assertThat(wal.recoveryReport().records()).isEqualTo(4);
        }
    }
}
