package dev.strata.core.reliability;

import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The process {@link CrashWithReadersTest} kills: appends to its streams without end (several
 * appends in flight per stream), trims now and then, and runs two readers meanwhile (a catch-up
 * reader from each stream's start, from objects, and a tail reader at each stream's end), which
 * check every batch they read is genuine; compaction and garbage collection run every 100 ms. Prints {@code STREAM id}, {@code READY},
 * {@code ACK stream base seed}, {@code TRIM stream offset}, {@code READ n}, {@code REWRITTEN bytes}
 * (written by compaction so far) and {@code BAD ...}.
 *
 * <p>Args: {@code dir round streams} where streams is {@code new:N} (round 0) or a comma list of ids.
 */
public final class CrashWithReadersChild {
    private CrashWithReadersChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int round = Integer.parseInt(args[1]);
        DurableStreamStore store = StoreFixtures.crashWithReaders(dir).build(); // never closed: the test kills this process
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
        reportCompactionProgress(store);
        for (int r = 0; r < 2; r++) {
            boolean catchUp = r == 0;
            Thread reader = new Thread(() -> read(store, streams, catchUp, round), catchUp ? "catch-up" : "tail");
            reader.setDaemon(true);
            reader.start();
        }
        Semaphore inFlight = new Semaphore(8 * streams.size());
        long seq = 0;
        while (true) {
            for (Stream s : streams) {
                inFlight.acquire();
                long seed = s.id() * 1_000_000_000L + round * 10_000_000L + seq;
                s.append(Campaigns.batch(seed)).whenComplete((res, e) -> {
                    inFlight.release();
                    if (e == null) {
                        print("ACK " + s.id() + " " + res.baseOffset() + " " + seed);
                    } else if (!(e instanceof CompletionException && e.getCause() instanceof BackpressureException)) {
                        print("ERR " + s.id() + " " + e);
                    }
                });
                if (seq % 499 == 0 && s.nextOffset() > 10) {
                    long to = s.nextOffset() / 3;
                    s.trim(to).whenComplete((v, e) -> {
                        if (e == null) {
                            print("TRIM " + s.id() + " " + to);
                        }
                    });
                }
            }
            seq++;
        }
    }

    private static void read(DurableStreamStore store, List<Stream> streams, boolean catchUp, int round) {
        SplittableRandom random = new SplittableRandom(round * 31L + (catchUp ? 1 : 2));
        long read = 0;
        while (true) {
            Stream s = streams.get(random.nextInt(streams.size()));
            long start = s.startOffset();
            long end = s.nextOffset();
            long at = catchUp ? start : Math.max(start, end - 1);
            if (at >= end) {
                continue;
            }
            try (FetchResult r = s.fetch(at, Long.MAX_VALUE, 64 * 1024).join()) {
                for (FetchedBatch b : r.batches()) {
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    if (!Campaigns.isGenuine(bytes) || b.count() != Campaigns.count(Campaigns.seedOf(bytes))) {
                        print("BAD stream=" + s.id() + " base=" + b.baseOffset());
                    }
                    read++;
                }
            } catch (CompletionException e) {
                // a trim raced the fetch (OffsetOutOfRange), or a retriable failure (backpressure, a read that
                // raced an upload): fine while the load runs; anything else is reported
                if (!(e.getCause() instanceof dev.strata.api.OffsetOutOfRangeException
                        || e.getCause() instanceof dev.strata.api.StrataException se && se.isRetriable())) {
                    print("ERR read " + e.getCause());
                }
            }
            if (read % 1000 == 0) {
                print("READ " + read);
            }
        }
    }

    /**
     * Prints {@code REWRITTEN bytes} whenever the bytes compaction wrote change (checked every 20 ms),
     * so the test sees compaction progress as soon as it happens, whatever the readers do.
     */
    private static void reportCompactionProgress(DurableStreamStore store) {
        ScheduledExecutorService reporter = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "compaction-progress");
            t.setDaemon(true);
            return t;
        });
        long[] last = {0};
        reporter.scheduleWithFixedDelay(() -> {
            long now = store.storageSummary().bytesRewritten();
            if (now != last[0]) {
                last[0] = now;
                print("REWRITTEN " + now);
            }
        }, 20, 20, TimeUnit.MILLISECONDS);
    }

    private static void print(String line) {
        synchronized (System.out) {
            System.out.println(line);
        }
    }
}
