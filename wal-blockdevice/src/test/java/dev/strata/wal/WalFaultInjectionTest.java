package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.assumeAvailable;
import static dev.strata.wal.WalTesting.buf;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.options;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StorageException;
import dev.strata.testkit.Futures;
import dev.strata.wal.FaultInjectingWal.Fault;
import dev.strata.wal.WalTesting.Rec;
import dev.strata.wal.api.WalAppendResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** I/O errors at the backend: the WAL fails stop and never reports a half-written record as durable. */
class WalFaultInjectionTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Fault.class)
    void faultyWriteFailsItsAppendAndEveryLaterOneAndRecoveryKeepsTheAcknowledgedOnes(Fault fault) {
        for (WalOptions.Backend backend : List.of(WalOptions.Backend.DIRECT, WalOptions.Backend.BUFFERED,
                WalOptions.Backend.IO_URING, WalOptions.Backend.PWRITE)) {
            if (backend != WalOptions.Backend.IO_URING || BlockDeviceWal.uringUnavailableReason().isEmpty()) {
                if (backend != WalOptions.Backend.PWRITE || BlockDeviceWal.pwriteUnavailableReason().isEmpty()) {
                    faultyWrite(fault, backend, false);
                }
            }
        }
        if (BlockDeviceWal.uringUnavailableReason().isEmpty()) {
            faultyWrite(fault, WalOptions.Backend.IO_URING, true); // every write on the appending thread
        }
        if (BlockDeviceWal.pwriteUnavailableReason().isEmpty()) {
            faultyWrite(fault, WalOptions.Backend.PWRITE, true);
        }
    }

    private void faultyWrite(Fault fault, WalOptions.Backend backend, boolean callerWrites) {
        Path file = dir.resolve("wal-" + backend + "-" + callerWrites + ".dat");
        List<Rec> acked = new ArrayList<>();
        FaultInjectingWal.Plan plan = FaultInjectingWal.plan(7).failWrite(4, fault).build();
        try (BlockDeviceWal wal = FaultInjectingWal.open(options(file, backend).maxInFlightWrites(1)
                .callerWritesWhenIdle(callerWrites).build(), plan)) {
            if (callerWrites) {
                WalTesting.assumeCallerWrites(wal);
            }
            assertThat(wal.backend()).isEqualTo(backend == WalOptions.Backend.IO_URING ? "io_uring"
                    : backend == WalOptions.Backend.PWRITE ? "pwritev2" : backend == WalOptions.Backend.DIRECT ? "filechannel-direct" : "filechannel-buffered");
            for (int i = 0; i < 3; i++) {
                acked.add(append(wal, bytes(i, 9000)));
            }
            assertThatThrownBy(() -> append(wal, bytes(3, 9000))).isInstanceOfSatisfying(StorageException.class,
                    e -> assertThat(e.isRetriable()).isFalse())
                    .hasMessageContaining(fault == Fault.SHORT_WRITE ? "short write" : fault == Fault.ENOSPC ? "ENOSPC" : "EIO");
            assertThat(wal.isFailed()).isTrue();
            assertThatThrownBy(() -> append(wal, bytes(4, 10))).isInstanceOf(StorageException.class)
                    .hasMessageContaining("failed earlier");
            assertThatThrownBy(() -> Futures.await(wal.trim(acked.get(0).nextPosition())))
                    .isInstanceOf(StorageException.class);
        }
        assertThat(plan.injected()).isEqualTo(1);
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, backend).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), acked);
            // the WAL is usable again after reopening
            Rec next = append(wal, bytes(5, 100));
            assertThat(next.position()).isEqualTo(acked.get(2).nextPosition());
        }
    }

    @ParameterizedTest
    @EnumSource(value = WalOptions.Backend.class, names = {"DIRECT", "BUFFERED", "IO_URING", "PWRITE"})
    void randomTornWritesWithSeveralInFlightNeverLoseAnAcknowledgedRecord(WalOptions.Backend backend) {
        assumeAvailable(backend);
        long injected = 0;
        for (long seed = 1; seed <= 8; seed++) {
            Path file = dir.resolve("torn-" + seed + ".dat");
            FaultInjectingWal.Plan plan = FaultInjectingWal.plan(seed)
                    .failRandomly(0.15, Fault.TORN_WRITE, Fault.EIO, Fault.SHORT_WRITE).build();
            List<byte[]> bodies = new ArrayList<>();
            List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
            try (BlockDeviceWal wal = FaultInjectingWal.open(options(file, backend).writeBufferBytes(1 << 20)
                    .groupCommitBytes(16 << 10).maxInFlightWrites(4).build(), plan)) {
                for (int i = 0; i < 200; i++) {
                    byte[] body = bytes(seed * 1000 + i, 200 + (i * 131) % 6000);
                    bodies.add(body);
                    futures.add(wal.append(buf(body)));
                }
                futures.forEach(f -> f.handle((r, e) -> null).join());
            }
            // appends refused with backpressure (all buffers busy) were never written: drop them
            List<byte[]> acceptedBodies = new ArrayList<>();
            List<CompletableFuture<WalAppendResult>> accepted = new ArrayList<>();
            for (int i = 0; i < futures.size(); i++) {
                Throwable e = futures.get(i).handle((r, t) -> Futures.unwrap(t)).join();
                if (!(e instanceof dev.strata.api.BackpressureException)) {
                    acceptedBodies.add(bodies.get(i));
                    accepted.add(futures.get(i));
                }
            }
            int ackedCount = 0;
            while (ackedCount < accepted.size() && !accepted.get(ackedCount).isCompletedExceptionally()) {
                ackedCount++;
            }
            for (int i = ackedCount; i < accepted.size(); i++) {
                assertThat(accepted.get(i)).as("seed=%d: no success after the first failure, record %d", seed, i)
                        .isCompletedExceptionally();
            }
            injected += plan.injected();
            try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, backend).build())) {
                List<Rec> recovered = recoverAll(wal);
                assertThat(recovered.size()).as("seed=%d every acknowledged record recovered", seed)
                        .isGreaterThanOrEqualTo(ackedCount);
                for (int i = 0; i < recovered.size(); i++) {
                    assertThat(recovered.get(i).body()).as("seed=%d record %d intact", seed, i).isEqualTo(acceptedBodies.get(i));
                    if (i < ackedCount) {
                        assertThat(recovered.get(i).position()).isEqualTo(accepted.get(i).join().position());
                    }
                }
            }
        }
        assertThat(injected).as("faults injected over all seeds").isGreaterThan(3);
    }

    @Test
    void pendingAppendsFailWhenAnEarlierWriteFails() {
        Path file = dir.resolve("pending.dat");
        FaultInjectingWal.Plan plan = FaultInjectingWal.plan(3).failWrite(1, Fault.EIO).sticky().build();
        List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
        try (BlockDeviceWal wal = FaultInjectingWal.open(options(file, WalOptions.Backend.DIRECT).build(), plan)) {
            for (int i = 0; i < 50; i++) {
                futures.add(wal.append(buf(bytes(i, 3000))));
            }
            for (CompletableFuture<WalAppendResult> f : futures) {
                assertThatThrownBy(() -> Futures.await(f)).isInstanceOf(StorageException.class);
            }
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            assertThat(recoverAll(wal)).isEmpty();
        }
    }
}
