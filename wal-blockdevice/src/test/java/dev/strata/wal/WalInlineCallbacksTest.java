package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.assumeAvailable;
import static dev.strata.wal.WalTesting.buf;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.options;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.BackpressureException;
import dev.strata.api.StorageException;
import dev.strata.testkit.Futures;
import dev.strata.wal.FaultInjectingWal.Fault;
import dev.strata.wal.WalTesting.Rec;
import dev.strata.wal.api.WalAppendResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Inline callbacks (futures complete on the thread that learned of the write, outside the WAL's
 * lock) and {@link WalOptions.Builder#callerWritesWhenIdle} (a lone
 * appender writes on its own thread): order, exactness after reopen, no deadlock when callbacks call
 * back into the WAL, interrupts, and faults on the synchronous path.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WalInlineCallbacksTest {
    private static final String APPENDER = "test-appender-";

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} callerWrites={1}")
    @CsvSource({"DIRECT,false", "BUFFERED,false", "IO_URING,false", "IO_URING,true", "PWRITE,false", "PWRITE,true"})
    void concurrentAppendersCompleteInAppendOrderAndRecoverExactly(WalOptions.Backend backend, boolean callerWrites)
            throws Exception {
        assumeAvailable(backend);
        Path file = dir.resolve("concurrent.dat");
        int threads = 4;
        int perThread = 300;
        Map<Long, byte[]> acked = new ConcurrentHashMap<>();
        List<String> outOfOrder = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, backend).capacityBytes(32 << 20)
                .writeBufferBytes(1 << 20).groupCommitBytes(64 << 10).callerWritesWhenIdle(callerWrites).build())) {
            if (callerWrites) {
                WalTesting.assumeCallerWrites(wal);
            }
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> appenders = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                        List<CompletableFuture<WalAppendResult>> window = new ArrayList<>();
                        CompletableFuture<WalAppendResult> previous = CompletableFuture.completedFuture(null);
                        for (int i = 0; i < perThread; i++) {
                            byte[] body = bytes(id * 100_000L + i, 1 + (i * 977 + id * 31) % 9000);
                            CompletableFuture<WalAppendResult> f = wal.append(buf(body));
                            CompletableFuture<WalAppendResult> before = previous;
                            int n = i;
                            // runs once f is complete (on whichever thread): the WAL completes in append
                            // order, so this thread's previous append must be complete already
                            f.whenComplete((r, e) -> {
                                if (!before.isDone()) {
                                    outOfOrder.add("thread " + id + " append " + n);
                                }
                                if (e == null) {
                                    acked.put(r.position(), body);
                                } else {
                                    unexpected.compareAndSet(null, e);
                                }
                            });
                            previous = f;
                            window.add(f);
                            if (window.size() == 8) {
                                window.remove(0).join();
                            }
                        }
                        window.forEach(CompletableFuture::join);
                    } catch (Throwable e) {
                        unexpected.compareAndSet(null, e);
                    }
                }, APPENDER + t);
                appenders.add(thread);
                thread.start();
            }
            start.countDown();
            for (Thread t : appenders) {
                t.join();
            }
            if (callerWrites) {
                assertThat(wal.callerWriteCount()).as("some writes made by the appenders themselves").isPositive();
            } else {
                assertThat(wal.callerWriteCount()).isZero();
            }
        }
        assertThat(unexpected.get()).isNull();
        assertThat(outOfOrder).isEmpty();
        assertThat(acked).hasSize(threads * perThread);
        TreeMap<Long, byte[]> byPosition = new TreeMap<>(acked);
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, backend).build())) {
            List<Rec> recovered = recoverAll(wal);
            assertThat(recovered).hasSize(byPosition.size());
            int i = 0;
            for (Map.Entry<Long, byte[]> e : byPosition.entrySet()) {
                assertThat(recovered.get(i).position()).isEqualTo(e.getKey());
                assertThat(recovered.get(i).body()).as("record at %d", e.getKey()).isEqualTo(e.getValue());
                i++;
            }
        }
    }

    @Test
    void loneAppenderWithCallerWritesIsAcknowledgedBeforeAppendReturns() {
        assumeAvailable(WalOptions.Backend.IO_URING);
        List<Rec> acked = new ArrayList<>();
        Path file = dir.resolve("lone.dat");
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.IO_URING)
                .callerWritesWhenIdle(true).build())) {
            WalTesting.assumeCallerWrites(wal);
            for (int i = 0; i < 50; i++) {
                byte[] body = bytes(i, 100 + i * 97);
                CompletableFuture<WalAppendResult> f = wal.append(buf(body));
                assertThat(f).as("append %d: written and synced on this thread", i).isCompletedWithValueMatching(
                        r -> r.nextPosition() > r.position());
                acked.add(new Rec(f.join().position(), f.join().nextPosition(), body));
            }
            assertThat(wal.callerWriteCount()).isEqualTo(50);
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.IO_URING).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), acked);
        }
    }

    @Test
    void anInterruptedAppenderStillWritesAndTheWalStaysUsable() {
        assumeAvailable(WalOptions.Backend.IO_URING);
        Path file = dir.resolve("interrupt.dat");
        List<Rec> acked = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.IO_URING)
                .callerWritesWhenIdle(true).build())) {
            WalTesting.assumeCallerWrites(wal);
            wal.used(); // the first call scans the log through a FileChannel, which an interrupt would close
            Thread.currentThread().interrupt();
            byte[] body = bytes(1, 5000);
            CompletableFuture<WalAppendResult> f = wal.append(buf(body));
            assertThat(Thread.interrupted()).as("the interrupt is left to the caller").isTrue();
            assertThat(f).isCompleted();
            acked.add(new Rec(f.join().position(), f.join().nextPosition(), body));
            assertThat(wal.isFailed()).isFalse();
            acked.add(append(wal, bytes(2, 300)));
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.IO_URING).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), acked);
        }
    }

    @ParameterizedTest(name = "{0} callerWrites={1}")
    @CsvSource({"DIRECT,false", "IO_URING,false", "IO_URING,true", "PWRITE,false", "PWRITE,true"})
    void aCallbackMayAppendAndTrim(WalOptions.Backend backend, boolean callerWrites) {
        assumeAvailable(backend);
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(dir.resolve("reentrant.dat"), backend)
                .callerWritesWhenIdle(callerWrites).build())) {
            CompletableFuture<WalAppendResult> second = new CompletableFuture<>();
            CompletableFuture<Void> trimmed = new CompletableFuture<>();
            wal.append(buf(bytes(1, 700))).thenAccept(first -> {
                wal.append(buf(bytes(2, 700))).whenComplete((r, e) -> {
                    if (e != null) {
                        second.completeExceptionally(e);
                        return;
                    }
                    second.complete(r);
                    wal.trim(first.nextPosition()).whenComplete((v, te) -> {
                        if (te != null) {
                            trimmed.completeExceptionally(te);
                        } else {
                            trimmed.complete(null);
                        }
                    });
                });
            });
            WalAppendResult r = Futures.await(second);
            Futures.await(trimmed);
            assertThat(wal.used()).isEqualTo(wal.writePosition() - r.position());
        }
    }

    @Test
    void faultsOnTheCallerWritePathNeverLoseAnAcknowledgedRecord() throws Exception {
        assumeAvailable(WalOptions.Backend.IO_URING);
        long injected = 0;
        for (long seed = 1; seed <= 6; seed++) {
            Path file = dir.resolve("faults-" + seed + ".dat");
            FaultInjectingWal.Plan plan = FaultInjectingWal.plan(seed)
                    .failRandomly(0.1, Fault.TORN_WRITE, Fault.EIO, Fault.SHORT_WRITE).build();
            Map<Long, byte[]> acked = new ConcurrentHashMap<>();
            List<CompletableFuture<WalAppendResult>> failedOrRefused = Collections.synchronizedList(new ArrayList<>());
            try (BlockDeviceWal wal = FaultInjectingWal.open(options(file, WalOptions.Backend.IO_URING)
                    .capacityBytes(16 << 20).writeBufferBytes(1 << 20).groupCommitBytes(16 << 10)
                    .callerWritesWhenIdle(true).build(), plan)) {
                WalTesting.assumeCallerWrites(wal);
                List<Thread> appenders = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    long base = seed * 1_000_000 + t * 10_000L;
                    Thread thread = new Thread(() -> {
                        for (int i = 0; i < 150; i++) {
                            byte[] body = bytes(base + i, 100 + (i * 131) % 5000);
                            CompletableFuture<WalAppendResult> f = wal.append(buf(body));
                            f.whenComplete((r, e) -> {
                                if (e == null) {
                                    acked.put(r.position(), body);
                                } else {
                                    failedOrRefused.add(f);
                                }
                            });
                            f.handle((r, e) -> null).join();
                        }
                    }, APPENDER + t);
                    appenders.add(thread);
                    thread.start();
                }
                for (Thread t : appenders) {
                    t.join();
                }
                if (plan.injected() > 0) {
                    assertThat(wal.isFailed()).isTrue();
                }
            }
            for (CompletableFuture<WalAppendResult> f : failedOrRefused) {
                assertThat(Futures.unwrap(f.handle((r, e) -> e).join()))
                        .isInstanceOfAny(StorageException.class, BackpressureException.class);
            }
            injected += plan.injected();
            try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.IO_URING).build())) {
                Map<Long, byte[]> recovered = new TreeMap<>();
                for (Rec r : recoverAll(wal)) {
                    recovered.put(r.position(), r.body());
                }
                for (Map.Entry<Long, byte[]> e : acked.entrySet()) {
                    assertThat(recovered.get(e.getKey())).as("seed=%d acknowledged record at %d", seed, e.getKey())
                            .isEqualTo(e.getValue());
                }
            }
        }
        assertThat(injected).as("faults injected over all seeds").isGreaterThan(3);
    }
}
