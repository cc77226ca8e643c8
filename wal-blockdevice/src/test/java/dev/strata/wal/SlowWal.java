package dev.strata.wal;

import dev.strata.wal.spi.WriteBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A {@link BlockDeviceWal} on a slow device: each write reaches the file as usual, and the WAL
 * learns of its completion a fixed latency later (a busy disk, a slow fsync). Writes then stay in
 * flight long enough for appends to pile up behind them, as on a loaded machine. Shipped in the
 * test-jar for the engine's tests. Thread-safe.
 */
public final class SlowWal {
    private SlowWal() {
    }

    /** Opens the WAL at {@code options.path()}; every write completes {@code latency} after the device finished it. */
    public static BlockDeviceWal open(WalOptions options, Duration latency) {
        return BlockDeviceWal.open(options, backend -> new Backend(backend, latency.toNanos()));
    }

    private static final class Backend implements WriteBackend {
        private final WriteBackend delegate;
        private final long latencyNanos;
        private final ScheduledExecutorService delays = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "slow-wal-device");
            t.setDaemon(true);
            return t;
        });

        Backend(WriteBackend delegate, long latencyNanos) {
            this.delegate = delegate;
            this.latencyNanos = latencyNanos;
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public int maxInFlight() {
            return delegate.maxInFlight();
        }

        @Override
        public void submit(long offset, ByteBuffer src, Completion completion) {
            delegate.submit(offset, src, (written, error) -> delays.schedule(() -> completion.completed(written, error),
                    latencyNanos, TimeUnit.NANOSECONDS));
        }

        @Override
        public void close() throws IOException {
            // the WAL closes its backend after every write completed: nothing is left scheduled
            delays.shutdown();
            delegate.close();
        }
    }
}
