package dev.strata.core;

import dev.strata.api.BackpressureException;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;

/**
 * The process {@link DisklessTakeoverTest} kills or pauses: opens a store with no local disk
 * ({@link StoreFixtures#diskless}) on an object directory, creates streams and appends to them
 * without end, printing a line for every outcome. Lines: {@code STREAM id}, {@code READY},
 * {@code ACK stream base count seed}, {@code ERR stream exceptionClass message} (an append that failed
 * for another reason than backpressure, e.g. after it was fenced).
 *
 * <p>Args: {@code objectsDir streams}.
 */
public final class DisklessChild {

    public static void main(String[] args) throws Exception {
        DurableStreamStore store = StoreFixtures.diskless(Path.of(args[0])).build(); // never closed: killed
        List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < Integer.parseInt(args[1]); i++) {
            Stream s = store.createStream(StreamOptions.defaults()).join();
            streams.add(s);
            System.out.println("STREAM " + s.id());
        }
        System.out.println("READY");
        System.out.flush();
        Semaphore inFlight = new Semaphore(4 * streams.size());
        long seq = 0;
        while (true) {
            for (Stream s : streams) {
                inFlight.acquire();
                long seed = s.id() * 1_000_000_000L + seq;
                int count = CrashChild.count(seed);
                s.append(RecordBatch.of(count, ByteBuffer.wrap(CrashChild.payload(seed)))).whenComplete((r, e) -> {
                    inFlight.release();
                    synchronized (System.out) {
                        if (e == null) {
                            System.out.println("ACK " + s.id() + " " + r.baseOffset() + " " + count + " " + seed);
                        } else {
                            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                            if (!(cause instanceof BackpressureException)) {
                                System.out.println("ERR " + s.id() + " " + cause.getClass().getSimpleName() + " "
                                        + String.valueOf(cause.getMessage()).replace('\n', ' '));
                            }
                        }
                        System.out.flush();
                    }
                });
            }
            seq++;
        }
    }
}
