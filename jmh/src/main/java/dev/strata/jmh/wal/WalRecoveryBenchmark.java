package dev.strata.jmh.wal;

import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Recovery speed: open a WAL holding {@code dataMiB} of {@code recordBytes} records (the open scan
 * verifies every CRC) and iterate {@code recover()} (reads and verifies again, copying each body).
 * Score is seconds per recovery; divide 2 x dataMiB by it for the read rate, and compare with fio's
 * seqread-1m-qd1. Reads go through the page cache only if the file is cached: the file is written
 * with O_DIRECT, so the first scan reads the device.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g", "-XX:MaxDirectMemorySize=2g"})
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class WalRecoveryBenchmark {

    @Param({"512"})
    public int dataMiB;

    @Param({"4096", "65536"})
    public int recordBytes;

    Path file;

    @Setup(Level.Trial)
    public void fill() {
        Path dir = Path.of(System.getProperty("strata.bench.dir", System.getProperty("java.io.tmpdir")));
        file = dir.resolve("strata-wal-recovery-bench-" + recordBytes + ".dat");
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(file).capacityBytes(2L * dataMiB << 20).build())) {
            wal.trim(wal.recoveryReport().endPosition()).join();
            byte[] bytes = new byte[recordBytes];
            new SplittableRandom(1).nextBytes(bytes);
            ByteBuf template = PooledByteBufAllocator.DEFAULT.directBuffer(recordBytes).writeBytes(bytes);
            long records = ((long) dataMiB << 20) / recordBytes;
            List<CompletableFuture<?>> window = new ArrayList<>();
            for (long i = 0; i < records; i++) {
                CompletableFuture<?> f = wal.append(template.retainedDuplicate());
                if (f.isCompletedExceptionally()) { // all write buffers busy: let the window drain, retry
                    window.forEach(CompletableFuture::join);
                    window.clear();
                    i--;
                    continue;
                }
                window.add(f);
                if (window.size() == 16) {
                    window.forEach(CompletableFuture::join);
                    window.clear();
                }
            }
            window.forEach(CompletableFuture::join);
            template.release();
        }
    }

    @Benchmark
    public long openAndRecover() {
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(file).build());
                WalRecovery recovery = wal.recover()) {
            long bytes = 0;
            while (recovery.hasNext()) {
                WalRecord r = recovery.next();
                bytes += r.body().readableBytes();
                r.body().release();
            }
            RecoveryReport report = recovery.report();
            if (bytes != report.bodyBytes() || bytes < ((long) dataMiB << 20) * 9 / 10) {
                throw new IllegalStateException("recovered " + bytes + " bytes, report " + report);
            }
            return bytes;
        }
    }
}
