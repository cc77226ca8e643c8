package dev.strata.wal;

import static dev.strata.wal.WalTesting.buf;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.testkit.Futures;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WriteAheadLog;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link WriteAheadLog#awaitRoom}: waiting uses the same rule as admission (write buffers, ring
 * space, lap-end padding), wakes when a write completes or a trim becomes durable, and returns at
 * once when an append would fail for another reason.
 */
class WalAwaitRoomTest {
    private static final long NO_WAIT = 0;
    private static final long LONG_WAIT = TimeUnit.SECONDS.toNanos(Futures.TIMEOUT_SECONDS);

    @TempDir
    Path dir;

    /** Appends {@code body}; returns null if the WAL refused it with BackpressureException. */
    private static CompletableFuture<WalAppendResult> appendOrRefused(WriteAheadLog wal, byte[] body) {
        CompletableFuture<WalAppendResult> f = wal.append(buf(body));
        if (f.isCompletedExceptionally() && f.handle((r, e) -> Futures.unwrap(e)).join() instanceof BackpressureException) {
            return null;
        }
        return f;
    }

    /** The message of the refusal of an append of {@code size} bytes (made again: nothing changed since). */
    private static String refusal(WriteAheadLog wal, int size) {
        CompletableFuture<WalAppendResult> f = wal.append(buf(new byte[size]));
        assertThat(f).isCompletedExceptionally();
        return f.handle((r, e) -> Futures.unwrap(e).getMessage()).join();
    }

    /**
     * Property: with nothing changing the WAL between the two calls (completions held, trims
     * awaited), {@code awaitRoom(n, 0)} says true exactly when an append of n bytes is admitted.
     * Random sizes across many laps of a small ring, with the buffers and the ring filling up.
     */
    @Test
    void awaitRoomAgreesWithAdmissionAcrossLapsBuffersAndRingSpace() throws Exception {
        HeldCompletions held = new HeldCompletions();
        SplittableRandom random = new SplittableRandom(18);
        int refusedByBuffers = 0;
        int refusedByRing = 0;
        try (BlockDeviceWal wal = held.open(options(dir.resolve("wal"), WalOptions.Backend.DIRECT)
                .capacityBytes(512 << 10).writeBufferBytes(1 << 16).groupCommitBytes(1 << 15).build())) {
            long trimmed = 0;
            for (int round = 0; round < 60; round++) {
                held.hold();
                List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
                try {
                    for (int i = 0; i < 200; i++) {
                        int size = random.nextInt(4) == 0 ? random.nextInt(1, wal.maxRecordBytes() + 1)
                                : random.nextInt(1, 8000);
                        boolean room = wal.awaitRoom(size, NO_WAIT);
                        CompletableFuture<WalAppendResult> f = appendOrRefused(wal, bytes(round * 1000L + i, size));
                        assertThat(f != null).as("round %d append %d of %d bytes: awaitRoom said %s", round, i, size, room)
                                .isEqualTo(room);
                        if (f == null) {
                            String why = refusal(wal, size);
                            if (why.contains("write buffers all in use")) {
                                refusedByBuffers++;
                            } else if (why.contains("WAL full")) {
                                refusedByRing++;
                            }
                            break;
                        }
                        futures.add(f);
                    }
                } finally {
                    held.release(); // also when an assertion failed: close() waits for held writes
                }
                long end = trimmed;
                for (CompletableFuture<WalAppendResult> f : futures) {
                    end = Futures.await(f).nextPosition();
                }
                // trim part of what was written, so the ring's free space (and the trim point) varies
                if (!futures.isEmpty() && random.nextBoolean()) {
                    long upTo = Futures.await(futures.get(random.nextInt(futures.size()))).nextPosition();
                    Futures.await(wal.trim(upTo));
                    trimmed = Math.max(trimmed, upTo);
                }
                assertThat(end).isGreaterThanOrEqualTo(trimmed);
            }
            assertThat(wal.writePosition()).as("several laps").isGreaterThan(4 * wal.capacity());
        }
        assertThat(refusedByBuffers).as("rounds that ran out of write buffers").isPositive();
        assertThat(refusedByRing).as("rounds that ran out of ring space").isPositive();
    }

    /**
     * Item 13 of issue 18: at the end of a lap a record that does not fit the lap's rest is placed
     * at the next lap's start, so it needs room there, although {@code free()} counts the lap's
     * rest too. The wait must use that rule: here {@code free()} exceeds the record, yet the WAL
     * refuses it, and so must {@code awaitRoom}, until a trim makes room at the next lap's start.
     */
    @Test
    void awaitRoomUsesTheLapEndRuleOfAdmission() throws Exception {
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(dir.resolve("wal"), WalOptions.Backend.DIRECT)
                .capacityBytes(256 << 10).build())) {
            int bs = wal.blockSize();
            long capacity = wal.capacity();
            // small records, each written alone (one block each), trimmed at once, up to lap 1's start
            WalAppendResult r;
            do {
                r = Futures.await(wal.append(buf(bytes(1, 100))));
                Futures.await(wal.trim(r.nextPosition()));
            } while (r.position() < capacity);
            assertThat(r.position()).isEqualTo(capacity);
            assertThat(r.nextPosition()).isEqualTo(capacity + bs); // the trim point: one block into lap 1
            long rest = 8L * bs; // what lap 1 has left when the large record comes
            while (wal.writePosition() < 2 * capacity - rest) {
                Futures.await(wal.append(buf(bytes(2, 100))));
            }
            assertThat(wal.writePosition()).isEqualTo(2 * capacity - rest);
            int body = (int) (rest + bs / 2 - WalRecordDescriptor.HEADER_BYTES); // longer than the lap's rest
            assertThat(wal.free()).as("free() counts the lap's rest").isGreaterThanOrEqualTo(
                    WalRecordDescriptor.encodedLength(body));

            assertThat(wal.awaitRoom(body, NO_WAIT)).isFalse();
            assertThat(appendOrRefused(wal, bytes(3, body))).isNull();
            assertThat(refusal(wal, body)).contains("WAL full");
            CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    return wal.awaitRoom(body, LONG_WAIT);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            Futures.await(wal.trim(wal.writePosition()));
            assertThat(Futures.await(waiter)).isTrue();
            WalAppendResult placed = Futures.await(appendOrRefused(wal, bytes(3, body)));
            assertThat(placed.position()).as("placed at the next lap's start").isEqualTo(2 * capacity);
        }
    }

    @Test
    void awaitRoomWakesWhenAWriteCompletesAndFreesABuffer() throws Exception {
        HeldCompletions held = new HeldCompletions();
        try (BlockDeviceWal wal = held.open(options(dir.resolve("wal"), WalOptions.Backend.DIRECT)
                .capacityBytes(8 << 20).writeBufferBytes(1 << 16).groupCommitBytes(1 << 15).build())) {
            int size = wal.maxRecordBytes();
            held.hold();
            List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
            CompletableFuture<Boolean> waiter;
            try {
                for (CompletableFuture<WalAppendResult> f; (f = appendOrRefused(wal, bytes(futures.size(), size))) != null; ) {
                    futures.add(f);
                }
                assertThat(wal.free()).as("refused for buffers, not ring space").isGreaterThan(4L * size);
                assertThat(wal.awaitRoom(size, TimeUnit.MILLISECONDS.toNanos(20))).as("still full after the timeout")
                        .isFalse();
                waiter = CompletableFuture.supplyAsync(() -> {
                    try {
                        return wal.awaitRoom(size, LONG_WAIT);
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                });
            } finally {
                held.release(); // the held writes complete: their buffers return to the pool
            }
            assertThat(Futures.await(waiter)).isTrue();
            futures.forEach(Futures::await);
            assertThat(appendOrRefused(wal, bytes(999, size))).isNotNull();
        }
    }

    @Test
    void awaitRoomWakesWhenATrimMakesRingSpaceReusable() throws Exception {
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(dir.resolve("wal"), WalOptions.Backend.DIRECT)
                .capacityBytes(256 << 10).build())) {
            List<WalAppendResult> written = new ArrayList<>();
            for (CompletableFuture<WalAppendResult> f; (f = appendOrRefused(wal, bytes(written.size(), 10_000))) != null; ) {
                written.add(Futures.await(f));
            }
            assertThat(wal.awaitRoom(10_000, NO_WAIT)).isFalse();
            CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    return wal.awaitRoom(10_000, LONG_WAIT);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            Futures.await(wal.trim(written.get(written.size() / 2).nextPosition()));
            assertThat(Futures.await(waiter)).isTrue();
            assertThat(appendOrRefused(wal, bytes(999, 10_000))).isNotNull();
        }
    }

    @Test
    void awaitRoomTimesOutNoEarlierThanAskedWhileFull() throws Exception {
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(dir.resolve("wal"), WalOptions.Backend.DIRECT)
                .capacityBytes(128 << 10).build())) {
            while (appendOrRefused(wal, bytes(1, 10_000)) != null) {
                // fill the ring
            }
            long timeout = TimeUnit.MILLISECONDS.toNanos(50);
            long start = System.nanoTime();
            assertThat(wal.awaitRoom(10_000, timeout)).isFalse();
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(timeout);
        }
    }

    @Test
    void awaitRoomReturnsAtOnceWhenAnAppendWouldFailForAnotherReason() throws Exception {
        BlockDeviceWal wal = BlockDeviceWal.open(options(dir.resolve("wal"), WalOptions.Backend.DIRECT)
                .capacityBytes(128 << 10).build());
        try {
            while (appendOrRefused(wal, bytes(1, 10_000)) != null) {
                // fill the ring
            }
            assertThat(wal.awaitRoom(wal.maxRecordBytes() + 1, LONG_WAIT)).as("too large: no wait").isTrue();
            assertThatThrownBy(() -> wal.awaitRoom(-1, NO_WAIT)).isInstanceOf(IllegalArgumentException.class);
            CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    return wal.awaitRoom(10_000, LONG_WAIT);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            wal.close();
            assertThat(Futures.await(waiter)).as("close wakes waiters").isTrue();
        } finally {
            wal.close();
        }
    }

    @Test
    void awaitRoomIsInterruptible() throws Exception {
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(dir.resolve("wal"), WalOptions.Backend.DIRECT)
                .capacityBytes(128 << 10).build())) {
            while (appendOrRefused(wal, bytes(1, 10_000)) != null) {
                // fill the ring
            }
            Thread.currentThread().interrupt();
            assertThatThrownBy(() -> wal.awaitRoom(10_000, LONG_WAIT)).isInstanceOf(InterruptedException.class);
            assertThat(Thread.interrupted()).as("the interrupt was consumed by the exception").isFalse();
        }
    }
}
