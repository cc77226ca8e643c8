package dev.strata.wal.api;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.api.StorageInUseException;
import dev.strata.api.StreamFencedException;
import dev.strata.testkit.Futures;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link WriteAheadLog} contract (the interface's Javadoc) as an abstract test suite: the WAL
 * contract kit, in this module's test-jar, for every implementation (and wrappers). An implementation
 * runs it by extending this class and saying how to open its log, how it keeps a second owner out,
 * and (if it can) how to crash it in-process:
 *
 * <pre>{@code
 * class MyWalContractTest extends WriteAheadLogContractTest {
 *     protected WriteAheadLog open() { return MyWal.open(dir.resolve("wal"), 1 << 20); }
 *     protected Fencing fencing() { return Fencing.NODE_EPOCH; }
 *     protected void crash(WriteAheadLog wal) { ((MyWal) wal).haltWithoutClosing(); }
 * }
 * }</pre>
 *
 * <p>The kit opens WALs as the engine does: each open gets the next node epoch
 * ({@link WriteAheadLog#assignNodeEpoch}: 1, 2, 3, ... within a test), then recovers before it
 * appends. Covers: ordering (positions chain, futures complete in append order); acknowledgement only
 * when durable (everything acknowledged is recovered after a reopen, and after a crash, in order with
 * its bytes, and what a crash cut off leaves no hole); trim (trimmed records are not recovered, the
 * trim point survives a reopen and a crash, a trim beyond the durable end is refused); ownership
 * ({@link Fencing}: a second owner with a higher node epoch fences the first, whose later appends fail
 * with {@link StreamFencedException} and are never recovered; or a second open is refused with
 * {@link StorageInUseException} while the first is open); the recovery report; the size limits; and
 * close. Every buffer is released, so the Netty leak check of the run also checks the WAL's ownership
 * rules.
 */
public abstract class WriteAheadLogContractTest {

    /** How the implementation under test keeps a second owner out (see {@link WriteAheadLog}, "Ownership"). */
    protected enum Fencing {
        /**
         * A second open succeeds; once it has its higher node epoch and recovered, the first owner's
         * appends fail with {@link StreamFencedException} (e.g. conditional writes of an object-store WAL).
         */
        NODE_EPOCH,
        /**
         * A second open fails with {@link StorageInUseException} while the first is open (a lock, e.g.
         * the block-device WAL's {@code OwnershipLock}); it succeeds after the first closed.
         */
        EXCLUSIVE_OPEN
    }

    /**
     * A fresh directory per test, for implementations that keep their log (or a local stand-in for
     * an object store) in files.
     */
    @TempDir
    protected Path dir;

    private final List<WriteAheadLog> opened = new ArrayList<>();
    private long nextNodeEpoch = 1;

    /**
     * Opens the log of the current test: a new, empty one the first time, the same log (as a restarted
     * process, or a second process, would) on later calls, also while an earlier one is still open
     * ({@link Fencing#NODE_EPOCH}) or to be refused then ({@link Fencing#EXCLUSIVE_OPEN}). The kit
     * assigns the node epoch itself. Its capacity must hold at least 256 KiB of records, and its
     * {@link WriteAheadLog#maxRecordBytes()} at least 1000 bytes.
     */
    protected abstract WriteAheadLog open() throws Exception;

    /** How the implementation keeps a second owner out. */
    protected abstract Fencing fencing();

    /**
     * Stops {@code wal} as a crash of its process would: acknowledged records stay durable, appends
     * not yet acknowledged may or may not survive, and nothing the implementation does only on a clean
     * close happens; afterwards {@code wal} must not touch the log again (the kit then opens it anew,
     * and calls {@code close()} on {@code wal} once more at the end, which must be harmless). The
     * default aborts the calling test: an implementation that cannot crash in-process tests crashes
     * with child JVMs instead.
     */
    protected void crash(WriteAheadLog wal) throws Exception {
        Assumptions.abort("this implementation does not simulate a crash in-process");
    }

    /** Opens the test's log with the next node epoch, closed after the test. */
    private WriteAheadLog openWal() throws Exception {
        WriteAheadLog wal = open();
        opened.add(wal);
        wal.assignNodeEpoch(nextNodeEpoch++);
        return wal;
    }

    @AfterEach
    protected void closeWals() {
        for (WriteAheadLog wal : opened) {
            wal.close();
        }
    }

    /** The bytes of record {@code i}: 1..1000 bytes derived from it. */
    protected static byte[] body(long i) {
        SplittableRandom r = new SplittableRandom(i);
        byte[] b = new byte[1 + r.nextInt(1000)];
        r.nextBytes(b);
        return b;
    }

    private static ByteBuf buf(byte[] bytes) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(bytes.length);
        b.writeBytes(bytes);
        return b;
    }

    /** A recovered or acknowledged record, body copied. */
    private record Rec(long position, long nextPosition, byte[] body) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Rec r && r.position == position && r.nextPosition == nextPosition
                    && Arrays.equals(r.body, body);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(position) * 31 + Arrays.hashCode(body);
        }

        @Override
        public String toString() {
            return "Rec{position=" + position + " next=" + nextPosition + " length=" + body.length + "}";
        }
    }

    private static List<Rec> recoverAll(WriteAheadLog wal) {
        List<Rec> out = new ArrayList<>();
        try (WalRecovery recovery = wal.recover()) {
            while (recovery.hasNext()) {
                WalRecord r = recovery.next();
                try {
                    out.add(new Rec(r.position(), r.nextPosition(), ByteBufUtil.getBytes(r.body())));
                } finally {
                    r.body().release();
                }
            }
        }
        return out;
    }

    /**
     * Appends {@code bytes} as the engine does: an append refused at once for lack of room
     * ({@link BackpressureException}: nothing was written) waits in {@link WriteAheadLog#awaitRoom}
     * and is tried again.
     */
    private static CompletableFuture<WalAppendResult> appendAdmitted(WriteAheadLog wal, byte[] bytes)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Futures.TIMEOUT_SECONDS);
        while (true) {
            CompletableFuture<WalAppendResult> f = wal.append(buf(bytes));
            if (!f.isCompletedExceptionally()
                    || !(Futures.unwrap(f.handle((r, e) -> e).join()) instanceof BackpressureException)) {
                return f;
            }
            long left = deadline - System.nanoTime();
            assertThat(left).as("room for a record of %d bytes within %d s", bytes.length, Futures.TIMEOUT_SECONDS)
                    .isPositive();
            wal.awaitRoom(bytes.length, left);
        }
    }

    /** Appends records {@code from..to-1} without waiting for acknowledgements in between; returns them as acknowledged. */
    private static List<Rec> appendAll(WriteAheadLog wal, int from, int to) throws InterruptedException {
        List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
        for (int i = from; i < to; i++) {
            futures.add(appendAdmitted(wal, body(i)));
        }
        List<Rec> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            WalAppendResult r = await(futures.get(i - from));
            out.add(new Rec(r.position(), r.nextPosition(), body(i)));
        }
        return out;
    }

    private static List<Rec> concat(List<Rec> a, List<Rec> b) {
        List<Rec> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static Throwable failureOf(CompletableFuture<?> future) {
        Throwable failure = future.handle((r, e) -> e).join();
        assertThat(failure).as("the future failed").isNotNull();
        return Futures.unwrap(failure);
    }

    // ---------------------------------------------------------------- ordering

    @Test
    void aNewWalRecoversNothing() throws Exception {
        WriteAheadLog wal = openWal();
        assertThat(recoverAll(wal)).isEmpty();
        assertThat(wal.used()).isZero();
        RecoveryReport report = wal.recoveryReport();
        assertThat(report.records()).isZero();
        assertThat(report.acknowledgedDataLost()).isFalse();
        assertThat(report.endPosition()).isEqualTo(report.startPosition());
    }

    @Test
    void positionsChainAndFuturesCompleteInAppendOrder() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Integer> completed = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int n = i;
            futures.add(appendAdmitted(wal, body(i)).whenComplete((r, e) -> completed.add(n)));
        }
        long previousNext = -1;
        for (int i = 0; i < futures.size(); i++) {
            WalAppendResult r = await(futures.get(i));
            assertThat(r.nextPosition()).as("record %d", i).isGreaterThan(r.position());
            if (previousNext >= 0) {
                assertThat(r.position()).as("record %d starts where %d ended", i, i - 1).isEqualTo(previousNext);
            }
            previousNext = r.nextPosition();
        }
        await(CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)));
        List<Integer> inOrder = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            inOrder.add(i);
        }
        assertThat(completed).as("completion order").isEqualTo(inOrder);
        assertThat(wal.writePosition()).isGreaterThanOrEqualTo(previousNext);
    }

    // ---------------------------------------------------------------- acknowledged means durable

    @Test
    void everyAcknowledgedRecordIsRecoveredAfterReopenInOrderWithItsBytes() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 150);
        wal.close();
        WriteAheadLog again = openWal();
        assertThat(recoverAll(again)).isEqualTo(acked);
        RecoveryReport report = again.recoveryReport();
        assertThat(report.records()).isEqualTo(150);
        assertThat(report.bodyBytes()).isEqualTo(acked.stream().mapToLong(r -> r.body().length).sum());
        assertThat(report.endPosition()).isEqualTo(acked.get(149).nextPosition());
        assertThat(report.acknowledgedDataLost()).isFalse();
        // and appends go on after the recovered ones
        List<Rec> more = appendAll(again, 150, 160);
        assertThat(more.get(0).position()).isEqualTo(acked.get(149).nextPosition());
    }

    @Test
    void theReportNamesTheNodeEpochOfTheOwnerThatWroteTheLog() throws Exception {
        WriteAheadLog first = openWal(); // node epoch 1
        recoverAll(first);
        first.close();
        WriteAheadLog second = openWal(); // node epoch 2
        recoverAll(second);
        appendAll(second, 0, 10);
        second.close();
        WriteAheadLog third = openWal(); // node epoch 3
        recoverAll(third);
        assertThat(third.recoveryReport().nodeEpoch()).as("the epoch of the owner that wrote the records").isEqualTo(2);
    }

    @Test
    void everyAcknowledgedRecordSurvivesACrashAndWhatItCutOffLeavesNoHole() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 100);
        List<CompletableFuture<WalAppendResult>> inFlight = new ArrayList<>();
        for (int i = 100; i < 130; i++) {
            inFlight.add(appendAdmitted(wal, body(i)));
        }
        crash(wal); // the appends in flight may be acknowledged, fail, or never complete
        WriteAheadLog again = openWal();
        List<Rec> recovered = recoverAll(again);
        assertThat(recovered.size()).as("recovered records").isBetween(100, 130);
        assertThat(recovered.subList(0, 100)).as("every acknowledged record").isEqualTo(acked);
        long previousNext = acked.get(99).nextPosition();
        for (int i = 100; i < recovered.size(); i++) {
            Rec r = recovered.get(i);
            assertThat(r.body()).as("record %d after the acknowledged ones is record %d: no hole", i, i).isEqualTo(body(i));
            assertThat(r.position()).as("record %d chains", i).isEqualTo(previousNext);
            previousNext = r.nextPosition();
        }
        for (int i = 100; i < 130; i++) {
            CompletableFuture<WalAppendResult> f = inFlight.get(i - 100);
            if (f.isDone() && !f.isCompletedExceptionally()) {
                assertThat(i).as("record %d was acknowledged before the crash, so it is recovered", i)
                        .isLessThan(recovered.size());
            }
        }
        // the log goes on after what was recovered, and a clean reopen keeps both
        List<Rec> more = appendAll(again, 1000, 1010);
        assertThat(more.get(0).position()).isEqualTo(again.recoveryReport().endPosition());
        again.close();
        WriteAheadLog third = openWal();
        assertThat(recoverAll(third)).isEqualTo(concat(recovered, more));
    }

    // ---------------------------------------------------------------- trim

    @Test
    void aDurableTrimSurvivesReopen() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 100);
        await(wal.trim(acked.get(59).nextPosition()));
        await(wal.trim(acked.get(10).nextPosition())); // below the trim point: ignored
        wal.close();
        WriteAheadLog again = openWal();
        assertThat(recoverAll(again)).isEqualTo(acked.subList(60, 100));
        assertThat(again.recoveryReport().startPosition()).isEqualTo(acked.get(59).nextPosition());
    }

    @Test
    void aDurableTrimSurvivesACrash() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 80);
        await(wal.trim(acked.get(49).nextPosition()));
        crash(wal);
        WriteAheadLog again = openWal();
        assertThat(recoverAll(again)).isEqualTo(acked.subList(50, 80));
    }

    @Test
    void aTrimToTheEndLeavesNothingToRecoverAndTheLogGoesOn() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 40);
        await(wal.trim(acked.get(39).nextPosition()));
        wal.close();
        WriteAheadLog again = openWal();
        assertThat(recoverAll(again)).isEmpty();
        List<Rec> more = appendAll(again, 40, 50);
        assertThat(more.get(0).position()).isGreaterThanOrEqualTo(acked.get(39).nextPosition());
        again.close();
        WriteAheadLog third = openWal();
        assertThat(recoverAll(third)).isEqualTo(more);
    }

    @Test
    void usedAndFreeAddUpToTheCapacity() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 50);
        assertThat(wal.used()).isPositive();
        assertThat(wal.used() + wal.free()).isEqualTo(wal.capacity());
        await(wal.trim(acked.get(49).nextPosition()));
        assertThat(wal.used() + wal.free()).isEqualTo(wal.capacity());
    }

    @Test
    void aTrimBeyondTheDurableEndIsRefused() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 5);
        long beyond = acked.get(4).nextPosition() + (1L << 20);
        assertThatThrownBy(() -> await(wal.trim(beyond))).isInstanceOf(IllegalArgumentException.class);
    }

    // ---------------------------------------------------------------- ownership

    @Test
    void aSecondOwnerWithAHigherNodeEpochFencesTheFirst() throws Exception {
        Assumptions.assumeTrue(fencing() == Fencing.NODE_EPOCH, "fences by an exclusive open, not by node epoch");
        WriteAheadLog first = openWal();
        recoverAll(first);
        List<Rec> beforeTakeover = appendAll(first, 0, 20);

        WriteAheadLog second = openWal(); // a higher node epoch, while the first is still open
        assertThat(recoverAll(second)).as("the new owner recovers what the first acknowledged").isEqualTo(beforeTakeover);

        ByteBuf late = buf(body(5000));
        CompletableFuture<WalAppendResult> fenced = first.append(late);
        assertThat(failureOf(fenced)).as("the first owner's append after the takeover").isInstanceOf(StreamFencedException.class);
        assertThat(late.refCnt()).as("the WAL released the body it refused").isZero();
        assertThat(failureOf(first.append(buf(body(5001))))).as("and every later one")
                .isInstanceOf(StreamFencedException.class);

        List<Rec> afterTakeover = appendAll(second, 20, 30);
        assertThat(afterTakeover.get(0).position()).isEqualTo(beforeTakeover.get(19).nextPosition());
        first.close();
        second.close();
        WriteAheadLog third = openWal();
        List<Rec> recovered = recoverAll(third);
        assertThat(recovered).as("the fenced appends are never recovered")
                .isEqualTo(concat(beforeTakeover, afterTakeover));
    }

    @Test
    void aSecondOpenWhileTheFirstIsOpenIsRefusedAndChangesNothing() throws Exception {
        Assumptions.assumeTrue(fencing() == Fencing.EXCLUSIVE_OPEN, "fences by node epoch, not by an exclusive open");
        WriteAheadLog first = openWal();
        recoverAll(first);
        List<Rec> before = appendAll(first, 0, 20);
        assertThatThrownBy(this::open).isInstanceOf(StorageInUseException.class);
        List<Rec> after = appendAll(first, 20, 30); // the holder is unaffected
        first.close();
        WriteAheadLog second = openWal();
        assertThat(recoverAll(second)).isEqualTo(concat(before, after));
    }

    @Test
    void aNodeEpochCannotBeAssignedOnceTheWalIsInUse() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        appendAll(wal, 0, 3);
        assertThatThrownBy(() -> wal.assignNodeEpoch(99)).isInstanceOf(IllegalStateException.class);
    }

    // ---------------------------------------------------------------- limits and close

    @Test
    void aRecordOfMaxRecordBytesIsAcceptedAndOneByteMoreIsRefused() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        int max = wal.maxRecordBytes();
        assertThat(max).isGreaterThanOrEqualTo(1000);
        byte[] largest = new byte[max];
        new SplittableRandom(max).nextBytes(largest);
        WalAppendResult r = await(appendAdmitted(wal, largest));
        ByteBuf tooLarge = PooledByteBufAllocator.DEFAULT.directBuffer(max + 1);
        tooLarge.writerIndex(max + 1);
        assertThat(failureOf(wal.append(tooLarge))).isInstanceOf(RecordTooLargeException.class);
        assertThat(tooLarge.refCnt()).as("the WAL released the body it refused").isZero();
        wal.close();
        WriteAheadLog again = openWal();
        assertThat(recoverAll(again)).isEqualTo(List.of(new Rec(r.position(), r.nextPosition(), largest)));
    }

    @Test
    void appendsAfterCloseFailWithStorageExceptionAndCloseIsIdempotent() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        appendAll(wal, 0, 3);
        wal.close();
        wal.close();
        ByteBuf body = buf(body(3));
        Throwable failure = failureOf(wal.append(body));
        assertThat(failure).isInstanceOf(StorageException.class);
        assertThat(((StorageException) failure).isRetriable()).isFalse();
        assertThat(body.refCnt()).as("the WAL released the body it refused").isZero();
    }
}
