package dev.strata.wal.objectstore;

import dev.strata.objectstore.LocalObjectStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Child of {@link ObjectStoreWalCrashTest}: appends records {@code 0, 1, 2, ...} (64 in flight) to
 * an object-store WAL on a local directory and prints {@code ACK n position nextPosition} for each
 * acknowledgement ({@code FAIL n ExceptionClass} for a failed append), until it is killed. Once
 * its WAL failed it stops appending.
 */
public final class ObjectWalCrashChild {
    private ObjectWalCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        LocalObjectStorage storage = LocalObjectStorage.open(Path.of(args[0]));
        ObjectStoreWal wal = ObjectStoreWal.open(storage, ObjectWalOptions.builder("node-a").flushBytes(16 * 1024)
                .flushIntervalNanos(TimeUnit.MILLISECONDS.toNanos(2)).build());
        System.out.println("OPEN " + wal.writePosition());
        System.out.flush();
        Semaphore window = new Semaphore(64);
        for (long n = 0; n < 10_000_000 && wal.failure() == null; n++) {
            window.acquire();
            ByteBuf body = PooledByteBufAllocator.DEFAULT.directBuffer(100).writeLong(n).writeZero(92);
            long id = n;
            wal.append(body).whenComplete((r, e) -> {
                window.release();
                if (e == null) {
                    System.out.println("ACK " + id + " " + r.position() + " " + r.nextPosition());
                } else {
                    Throwable cause = e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
                    System.out.println("FAIL " + id + " " + cause.getClass().getSimpleName());
                }
                System.out.flush();
            });
        }
    }
}
