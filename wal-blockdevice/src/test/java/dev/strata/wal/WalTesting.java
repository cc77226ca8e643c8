package dev.strata.wal;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;

/** Shared helpers of the WAL tests. */
final class WalTesting {
    private WalTesting() {
    }

    /** A record as the tests see it: where it is and what it holds. */
    record Rec(long position, long nextPosition, byte[] body) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Rec r && r.position == position && r.nextPosition == nextPosition
                    && Arrays.equals(r.body, body);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(position);
        }

        @Override
        public String toString() {
            return "Rec{position=" + position + " next=" + nextPosition + " length=" + body.length + "}";
        }
    }

    /** Deterministic body bytes from a seed; the first 8 bytes are the seed. */
    static byte[] bytes(long seed, int length) {
        byte[] b = new byte[length];
        new SplittableRandom(seed).nextBytes(b);
        for (int i = 0; i < Math.min(8, length); i++) {
            b[i] = (byte) (seed >>> (8 * i));
        }
        return b;
    }

    static ByteBuf buf(byte[] bytes) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(bytes.length);
        b.writeBytes(bytes);
        return b;
    }

    static Rec append(WriteAheadLog wal, byte[] body) {
        WalAppendResult r = Futures.await(wal.append(buf(body)));
        return new Rec(r.position(), r.nextPosition(), body);
    }

    /** Every record {@code recover()} returns, bodies copied and released. */
    static List<Rec> recoverAll(WriteAheadLog wal) {
        List<Rec> out = new ArrayList<>();
        try (WalRecovery rec = wal.recover()) {
            while (rec.hasNext()) {
                WalRecord r = rec.next();
                try {
                    out.add(new Rec(r.position(), r.nextPosition(), ByteBufUtil.getBytes(r.body())));
                } finally {
                    r.body().release();
                }
            }
        }
        return out;
    }

    static WalOptions.Builder options(Path file, WalOptions.Backend backend) {
        return WalOptions.builder(file).backend(backend).capacityBytes(1 << 20).writeBufferBytes(1 << 16)
                .groupCommitBytes(1 << 15);
    }

    /** Skips the calling test when {@code backend} cannot run in this JVM, naming why. */
    static void assumeAvailable(WalOptions.Backend backend) {
        if (backend == WalOptions.Backend.IO_URING) {
            Optional<String> why = BlockDeviceWal.uringUnavailableReason();
            Assumptions.assumeTrue(why.isEmpty(), () -> "io_uring backend unavailable here: " + why.orElse(""));
        }
        if (backend == WalOptions.Backend.PWRITE) {
            Optional<String> why = BlockDeviceWal.pwriteUnavailableReason();
            Assumptions.assumeTrue(why.isEmpty(), () -> "pwritev2 backend unavailable here: " + why.orElse(""));
        }
    }

    static void assertSameRecords(List<Rec> actual, List<Rec> expected) {
        assertThat(actual).hasSize(expected.size());
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i)).as("record %d", i).isEqualTo(expected.get(i));
        }
    }

    /** Skips the calling test where the WAL could not enable callerWritesWhenIdle (a libc without pwritev2). */
    static void assumeCallerWrites(BlockDeviceWal wal) {
        Assumptions.assumeTrue(wal.callerWritesEnabled(),
                "callerWritesWhenIdle needs pwritev2 (glibc 2.26+), which this libc lacks");
    }
}
