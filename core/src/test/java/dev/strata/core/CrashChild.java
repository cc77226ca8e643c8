package dev.strata.core;

import dev.strata.api.BackpressureException;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;

/**
 * The process {@link CrashRecoveryTest} kills: opens the store ({@link StoreFixtures#crash}) on a
 * directory, then appends to its streams without end (several appends in flight per stream, periodic
 * trims, uploads running), printing a line for every acknowledgement. Lines: {@code STREAM id},
 * {@code READY}, {@code ACK stream base count seed}, {@code TRIM stream offset}.
 *
 * <p>Args: {@code dir round streams} where streams is {@code new:N} (round 0) or a comma list of ids.
 */
public final class CrashChild {

    /** The payload an acknowledgement with {@code seed} carries. */
    public static byte[] payload(long seed) {
        Random r = new Random(seed);
        byte[] b = new byte[10 + r.nextInt(3000)];
        r.nextBytes(b);
        return b;
    }

    /** The record count of the batch with {@code seed}: 1..4 (the appender's {@code 1 + seq % 4}). */
    public static int count(long seed) {
        return 1 + (int) Math.floorMod(seed, 4L);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int round = Integer.parseInt(args[1]);
        DurableStreamStore store = StoreFixtures.crash(dir).build(); // never closed: the test kills this process
        List<Stream> streams = new ArrayList<>();
        if (args[2].startsWith("new:")) {
            for (int i = 0; i < Integer.parseInt(args[2].substring(4)); i++) {
                Stream s = store.createStream(StreamOptions.defaults()).join();
                streams.add(s);
                System.out.println("STREAM " + s.id());
            }
        } else {
            for (String id : args[2].split(",")) {
                streams.add(store.openStream(Long.parseLong(id), 2L * round).join()); // the verifier uses 2 * round + 1
            }
        }
        System.out.println("READY");
        System.out.flush();
        Semaphore inFlight = new Semaphore(8 * streams.size());
        long seq = 0;
        while (true) {
            for (Stream s : streams) {
                inFlight.acquire();
                long seed = s.id() * 1_000_000_000L + round * 10_000_000L + seq;
                int count = count(seed); // 1 + seq % 4: the seed's other terms are multiples of 4
                CompletableFuture<?> f = s.append(RecordBatch.of(count, ByteBuffer.wrap(payload(seed))))
                        .whenComplete((r, e) -> {
                            inFlight.release();
                            if (e == null) {
                                synchronized (System.out) {
                                    System.out.println("ACK " + s.id() + " " + r.baseOffset() + " " + count + " " + seed);
                                }
                            } else if (!(e instanceof CompletionException && e.getCause() instanceof BackpressureException)) {
                                synchronized (System.out) {
                                    System.out.println("ERR " + s.id() + " " + e);
                                }
                            }
                        });
                if (seq % 997 == 0 && s.nextOffset() > 10) {
                    long to = s.nextOffset() / 2;
                    s.trim(to).whenComplete((v, e) -> {
                        if (e == null) {
                            synchronized (System.out) {
                                System.out.println("TRIM " + s.id() + " " + to);
                            }
                        }
                    });
                }
            }
            seq++;
        }
    }
}
