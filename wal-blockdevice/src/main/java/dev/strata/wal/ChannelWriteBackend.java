package dev.strata.wal;

import dev.strata.wal.spi.WriteBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Write backend on a {@link FileChannel}: positional write, then {@code force(false)}
 * (fdatasync) when durable. O_DIRECT or buffered depends on how the channel was opened. Each
 * write runs on one of {@code maxInFlight} threads ({@code strata-wal-io-N}); writes at different
 * offsets proceed in parallel because positional writes and fdatasync do not serialize in the JDK.
 * Thread-safe.
 */
final class ChannelWriteBackend implements WriteBackend {
    private static final AtomicInteger IDS = new AtomicInteger();

    private final FileChannel channel;
    private final String name;
    private final boolean durable;
    private final int maxInFlight;
    private final ExecutorService threads;

    ChannelWriteBackend(FileChannel channel, String name, boolean durable, int maxInFlight) {
        this.channel = channel;
        this.name = name;
        this.durable = durable;
        this.maxInFlight = maxInFlight;
        int id = IDS.getAndIncrement();
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(maxInFlight, r -> {
            Thread t = new Thread(r, "strata-wal-io-" + id + "-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int maxInFlight() {
        return maxInFlight;
    }

    @Override
    public void submit(long offset, ByteBuffer src, Completion completion) {
        threads.execute(() -> {
            long written = 0;
            try {
                while (src.hasRemaining()) {
                    written += channel.write(src, offset + written);
                }
                if (durable) {
                    channel.force(false);
                }
                completion.completed(written, null);
            } catch (IOException e) {
                completion.completed(written, e);
            } catch (RuntimeException e) {
                completion.completed(written, new IOException("write failed: offset=" + offset, e));
            }
        });
    }

    @Override
    public void close() throws IOException {
        threads.shutdown();
        try {
            threads.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
