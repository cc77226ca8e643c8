package dev.strata.jmh.runner;

import dev.strata.cache.BlockCache;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectStorage;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The reference for the replay's speed: the same objects read with plain ranged GETs through the
 * same {@link ObjectStorage} (no decoding, no CRC check, no cache): each object from its first
 * byte to its last in ranges of {@link #RANGE_BYTES} (the block cache's largest load), objects in
 * key order, with a fixed number of GETs in flight. The bytes are dropped as they arrive.
 */
final class RawRangedGets {
    /** Bytes per GET: the largest load the engine's block cache makes ({@link BlockCache#DEFAULT_MAX_LOAD_BYTES}). */
    static final long RANGE_BYTES = BlockCache.DEFAULT_MAX_LOAD_BYTES;

    private RawRangedGets() {
    }

    /** Bytes read and the time it took. */
    record Result(long bytes, long nanos, int gets) {
        double mibPerSecond() {
            return bytes / (double) (1 << 20) * 1e9 / Math.max(1, nanos);
        }
    }

    /** The data objects (not the manifest or other files) among {@code listing}. */
    static List<ObjectInfo> dataObjects(List<ObjectInfo> listing) {
        return listing.stream().filter(o -> ObjectKeys.parseObjectId(o.key()) >= 0)
                .sorted(java.util.Comparator.comparing(ObjectInfo::key)).toList();
    }

    /** Reads every byte of {@code objects} with ranged GETs, {@code inFlight} at a time. */
    static Result read(ObjectStorage storage, List<ObjectInfo> objects, int inFlight) throws InterruptedException {
        Semaphore permits = new Semaphore(inFlight);
        AtomicLong bytes = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int gets = 0;
        long start = System.nanoTime();
        for (ObjectInfo o : objects) {
            for (long at = 0; at < o.size() && failure.get() == null; at += RANGE_BYTES) {
                permits.acquire();
                gets++;
                storage.get(o.key(), ByteRange.of(at, Math.min(RANGE_BYTES, o.size() - at))).whenComplete((d, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    } else {
                        bytes.addAndGet(d.content().readableBytes());
                        d.release();
                    }
                    permits.release();
                });
            }
        }
        permits.acquire(inFlight);
        long nanos = System.nanoTime() - start;
        if (failure.get() != null) {
            Throwable t = failure.get();
            throw new IllegalStateException("raw ranged GET failed: " + (t instanceof CompletionException c
                    && c.getCause() != null ? c.getCause() : t), t);
        }
        return new Result(bytes.get(), nanos, gets);
    }
}
