package dev.strata.core.reliability;

import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The process {@link MetadataCrashTest} kills: a storm of metadata changes. {@value #LANES} lanes run
 * at once; each creates a stream (creation epoch {@code k % 3} for the k-th create), then makes a few
 * changes to it one after the other (appends, trims, re-opens at the next epoch), sometimes deletes
 * it, and starts over with a new stream. Uploads run too, so object commits mix with the changes.
 *
 * <p>The ledger file gets a line {@code ASK ...} before every call (written before the call is made,
 * so every change that may have reached storage is asked for in the ledger) and {@code ACK ...}
 * once it is acknowledged. One write(2) per line: the kernel keeps what was written when the
 * process is killed, so no fsync is needed; a last line cut short by the kill has no newline.
 * Lines:
 * {@code ASK CREATE k epoch}, {@code ACK CREATE id k epoch}; {@code ASK APPEND id i},
 * {@code ACK APPEND id i base} (batch i of a stream is {@code Campaigns.batch(seed(id, i))});
 * {@code ASK TRIM id offset}, {@code ACK TRIM id offset}; {@code ASK OPEN id epoch},
 * {@code ACK OPEN id epoch}; {@code ASK DELETE id epoch}, {@code ACK DELETE id epoch}.
 * Stdout gets {@code READY}, then one {@code ACK} line per acknowledgement (the parent counts them
 * to choose the kill moment), and {@code ERR ...} for anything unexpected.
 *
 * <p>Args: {@code storeDir ledgerFile seed}.
 */
public final class MetadataStormChild {
    static final int LANES = 64;

    private final DurableStreamStore store;
    private final FileOutputStream ledger;
    private final long seed;
    private final AtomicInteger creates = new AtomicInteger();

    private MetadataStormChild(DurableStreamStore store, FileOutputStream ledger, long seed) {
        this.store = store;
        this.ledger = ledger;
        this.seed = seed;
    }

    /** The seed of batch {@code i} of stream {@code id}. */
    static long seed(long id, long i) {
        return (id << 20) | i;
    }

    public static void main(String[] args) throws Exception {
        DurableStreamStore store = StoreFixtures.campaign(Path.of(args[0])).build(); // the parent reopens with the same preset // never closed: the test kills this process
        MetadataStormChild child = new MetadataStormChild(store, new FileOutputStream(args[1], true), Long.parseLong(args[2]));
        System.out.println("READY");
        System.out.flush();
        for (int i = 0; i < LANES; i++) {
            child.newStream();
        }
        Thread.currentThread().join(); // until killed
    }

    /** One stream's lane: its handle and what was acknowledged on it. Used by one call at a time. */
    private static final class Lane {
        final long id;
        final SplittableRandom random;
        Stream stream;
        long epoch;
        long appended;
        long start;
        long end;
        int steps;

        Lane(Stream stream, long seed) {
            this.id = stream.id();
            this.stream = stream;
            this.epoch = stream.epoch();
            this.random = new SplittableRandom(seed ^ (id * 0x9E3779B97F4A7C15L));
            this.steps = 2 + random.nextInt(10);
        }
    }

    private void newStream() {
        int k = creates.getAndIncrement();
        long epoch = k % 3;
        write("ASK CREATE " + k + " " + epoch);
        store.createStream(StreamOptions.defaults().withEpoch(epoch)).whenComplete((s, e) -> {
            if (e != null) {
                err("create " + k, e);
                return;
            }
            ack("CREATE " + s.id() + " " + k + " " + s.epoch());
            if (s.epoch() != epoch || s.startOffset() != 0 || s.nextOffset() != 0) {
                err("create " + k + " gave stream " + s.id() + " at epoch " + s.epoch() + " [" + s.startOffset() + ", "
                        + s.nextOffset() + ")", null);
                return;
            }
            step(new Lane(s, seed));
        });
    }

    private void step(Lane l) {
        if (l.steps-- == 0) {
            if (l.random.nextInt(4) == 0) {
                write("ASK DELETE " + l.id + " " + l.epoch);
                store.deleteStream(l.id, l.epoch).whenComplete((v, e) -> {
                    if (e != null) {
                        err("delete " + l.id, e);
                        return;
                    }
                    ack("DELETE " + l.id + " " + l.epoch);
                    newStream();
                });
            } else {
                newStream();
            }
            return;
        }
        int op = l.random.nextInt(10);
        if (op < 4 || l.end == l.start) {
            long i = l.appended;
            long seed = seed(l.id, i);
            write("ASK APPEND " + l.id + " " + i);
            l.stream.append(Campaigns.batch(seed)).whenComplete((r, e) -> {
                if (e != null) {
                    err("append " + l.id + " " + i, e);
                    return;
                }
                ack("APPEND " + l.id + " " + i + " " + r.baseOffset());
                if (r.baseOffset() != l.end) {
                    err("append " + l.id + " " + i + " at " + r.baseOffset() + ", expected " + l.end, null);
                    return;
                }
                l.appended++;
                l.end += Campaigns.count(seed);
                step(l);
            });
        } else if (op < 7) {
            long to = l.start + 1 + l.random.nextLong(l.end - l.start); // in (start, end]: never a no-op
            write("ASK TRIM " + l.id + " " + to);
            l.stream.trim(to).whenComplete((v, e) -> {
                if (e != null) {
                    err("trim " + l.id + " to " + to, e);
                    return;
                }
                ack("TRIM " + l.id + " " + to);
                l.start = to;
                step(l);
            });
        } else {
            long epoch = l.epoch + 1;
            write("ASK OPEN " + l.id + " " + epoch);
            store.openStream(l.id, epoch).whenComplete((s, e) -> {
                if (e != null) {
                    err("open " + l.id + " at " + epoch, e);
                    return;
                }
                ack("OPEN " + l.id + " " + epoch);
                if (s.startOffset() != l.start || s.nextOffset() != l.end) {
                    err("open " + l.id + " at " + epoch + " gave [" + s.startOffset() + ", " + s.nextOffset()
                            + "), expected [" + l.start + ", " + l.end + ")", null);
                    return;
                }
                l.stream = s;
                l.epoch = epoch;
                step(l);
            });
        }
    }

    private void ack(String what) {
        write("ACK " + what);
        synchronized (System.out) {
            System.out.println("ACK");
        }
    }

    private void write(String line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.US_ASCII);
        synchronized (ledger) {
            try {
                ledger.write(bytes);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static void err(String what, Throwable e) {
        synchronized (System.out) {
            System.out.println("ERR " + what + (e == null ? "" : ": " + e));
        }
    }
}
