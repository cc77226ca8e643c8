package dev.strata.wal;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.testkit.Futures;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import dev.strata.wal.api.WriteAheadLog;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link WriteAheadLog} contract (the interface's Javadoc) as an abstract test suite: the WAL
 * contract kit, in this module's test-jar; run here against {@link BlockDeviceWal}. Another
 * implementation, or a wrapper around one, runs it by extending this class:
 *
 * <pre>{@code
 * class MyWalContractTest extends WriteAheadLogContractTest {
 *     protected WriteAheadLog open(Path dir) { return MyWal.open(dir.resolve("wal"), 1 << 20); }
 * }
 * }</pre>
 *
 * <p>Covers: positions chain ({@code position} of a record is the {@code nextPosition} of the one
 * before), futures complete in append order, everything acknowledged is recovered after a reopen in
 * order with its bytes, a durable trim survives the reopen, {@code used() + free() == capacity()},
 * a record that can never fit and a trim beyond the durable end are refused, appends after close fail
 * with {@link StorageException} and close is idempotent. Every buffer is released, so the Netty leak
 * check of the run also checks the WAL's ownership rules.
 */
public abstract class WriteAheadLogContractTest {

    /** The directory the WAL under test keeps its storage in; the same for a reopen. */
    @TempDir
    protected Path dir;

    private final List<WriteAheadLog> opened = new ArrayList<>();

    /**
     * Opens the WAL kept in {@code dir}: a new, empty one the first time, the same log (as a restarted
     * process would) after the previous one was closed. Its capacity must hold at least 256 KiB of
     * records.
     */
    protected abstract WriteAheadLog open(Path dir) throws Exception;

    private WriteAheadLog openWal() throws Exception {
        WriteAheadLog wal = open(dir);
        opened.add(wal);
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

    /** A recovered record, body copied. */
    private record Rec(long position, long nextPosition, List<Byte> body) {
        static Rec of(long position, long nextPosition, byte[] body) {
            List<Byte> l = new ArrayList<>(body.length);
            for (byte x : body) {
                l.add(x);
            }
            return new Rec(position, nextPosition, l);
        }
    }

    private static List<Rec> recoverAll(WriteAheadLog wal) {
        List<Rec> out = new ArrayList<>();
        try (WalRecovery recovery = wal.recover()) {
            while (recovery.hasNext()) {
                WalRecord r = recovery.next();
                try {
                    out.add(Rec.of(r.position(), r.nextPosition(), ByteBufUtil.getBytes(r.body())));
                } finally {
                    r.body().release();
                }
            }
        }
        return out;
    }

    /** Appends records {@code from..to-1} without waiting in between; returns them as acknowledged. */
    private static List<Rec> appendAll(WriteAheadLog wal, int from, int to) {
        List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
        for (int i = from; i < to; i++) {
            futures.add(wal.append(buf(body(i))));
        }
        List<Rec> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            WalAppendResult r = await(futures.get(i - from));
            out.add(Rec.of(r.position(), r.nextPosition(), body(i)));
        }
        return out;
    }

    @Test
    void aNewWalRecoversNothing() throws Exception {
        WriteAheadLog wal = openWal();
        assertThat(recoverAll(wal)).isEmpty();
        assertThat(wal.used()).isZero();
    }

    @Test
    void positionsChainAndFuturesCompleteInAppendOrder() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Integer> completed = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int n = i;
            futures.add(wal.append(buf(body(i))).whenComplete((r, e) -> completed.add(n)));
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

    @Test
    void everyAcknowledgedRecordIsRecoveredAfterReopenInOrderWithItsBytes() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 150);
        wal.close();
        WriteAheadLog again = openWal();
        assertThat(recoverAll(again)).isEqualTo(acked);
        // and appends go on after the recovered ones
        List<Rec> more = appendAll(again, 150, 160);
        assertThat(more.get(0).position()).isEqualTo(acked.get(acked.size() - 1).nextPosition());
    }

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
    void aRecordThatCanNeverFitIsRefused() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        int tooLarge = (int) Math.min(Integer.MAX_VALUE - 8, wal.capacity() + 1);
        ByteBuf body = PooledByteBufAllocator.DEFAULT.directBuffer(tooLarge);
        body.writerIndex(tooLarge);
        assertThatThrownBy(() -> await(wal.append(body))).isInstanceOf(RecordTooLargeException.class);
        assertThat(body.refCnt()).as("the WAL released the body it refused").isZero();
    }

    @Test
    void aTrimBeyondTheDurableEndIsRefused() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        List<Rec> acked = appendAll(wal, 0, 5);
        long beyond = acked.get(4).nextPosition() + (1L << 20);
        assertThatThrownBy(() -> await(wal.trim(beyond))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void appendsAfterCloseFailWithStorageExceptionAndCloseIsIdempotent() throws Exception {
        WriteAheadLog wal = openWal();
        recoverAll(wal);
        appendAll(wal, 0, 3);
        wal.close();
        wal.close();
        ByteBuf body = buf(body(3));
        Throwable failure = wal.append(body).handle((r, e) -> e).join();
        assertThat(Futures.unwrap(failure)).isInstanceOf(StorageException.class);
        assertThat(((StorageException) Futures.unwrap(failure)).isRetriable()).isFalse();
        assertThat(body.refCnt()).as("the WAL released the body it refused").isZero();
    }
}
