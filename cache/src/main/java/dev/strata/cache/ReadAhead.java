package dev.strata.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-stream sequential-read detection and the adaptive read-ahead window of the {@link BlockCache}.
 *
 * <h2>Policy</h2>
 * A read is <em>sequential</em> when it is the block right after the stream's previous read in the
 * same object, one of the blocks read-ahead planned for the stream (which may be in the next
 * object), or the block where the locator says the stream continues after its previous read
 * ({@link BlockLocator#follows}: a scan crossing into the next object stays sequential). After {@code sequentialThreshold} sequential reads in a row the stream gets a window of
 * {@code initialWindowBytes}. The window doubles (up to {@code maxWindowBytes}) each time the reader
 * finds a block that read-ahead loaded or is loading: the reader keeps up with read-ahead, so bigger
 * loads help. It halves (not below the initial window) when memory is tight or read-ahead is
 * wasted: read-ahead was refused by the in-flight budget, or prefetched data expired (or was
 * invalidated) unread. The window never exceeds read-ahead's share of the in-flight budget, since a
 * larger one could never be loaded. A non-sequential read
 * resets the stream to no read-ahead. When the bytes planned ahead of the reader fall below half of
 * the window, the next blocks up to the window are planned through the {@link BlockLocator}; a
 * locator that could not see that far yet (the next object's index was still being fetched) calls
 * for the rest later ({@link #resume}), so read-ahead crosses into the next object without waiting
 * for the reader's next read.
 *
 * <p>Thread-safety: per-stream state is guarded by its own monitor; the table of streams is a
 * bounded Caffeine cache (least recently used streams are forgotten).
 */
final class ReadAhead {
    private static final Logger LOG = LoggerFactory.getLogger(ReadAhead.class);

    private final BlockLocator locator;
    private final long initialWindowBytes;
    private final long maxWindowBytes;
    private final int sequentialThreshold;
    private final Cache<Long, StreamState> streams;
    private final com.github.benmanes.caffeine.cache.Ticker ticker;

    ReadAhead(BlockLocator locator, long initialWindowBytes, long maxWindowBytes, int sequentialThreshold,
            long maxTrackedStreams, Executor executor, com.github.benmanes.caffeine.cache.Ticker ticker) {
        this.locator = locator;
        this.ticker = ticker;
        this.initialWindowBytes = initialWindowBytes;
        this.maxWindowBytes = maxWindowBytes;
        this.sequentialThreshold = sequentialThreshold;
        this.streams = Caffeine.newBuilder().maximumSize(maxTrackedStreams).executor(executor).build();
    }

    /**
     * Records that {@code streamId} reads {@code block} and returns the blocks to prefetch (often none).
     *
     * @param prefetchPaidOff the block was found loaded or loading by read-ahead
     */
    List<BlockRef> onRead(long streamId, BlockRef block, boolean prefetchPaidOff) {
        if (locator == null) {
            return List.of();
        }
        StreamState s = streams.get(streamId, id -> new StreamState());
        synchronized (s) {
            if (s.last != null && s.last.objectId() == block.objectId() && s.last.blockIndex() == block.blockIndex()) {
                return List.of(); // the same block again
            }
            boolean planned = s.consumePlanned(block);
            boolean sequential = s.last != null && (planned || s.last.isFollowedBy(block)
                    || continuesInNextObject(streamId, s.last, block));
            if (!planned && !s.planned.isEmpty()) {
                // The plan always starts right after the last read, so it no longer matches this reader.
                s.planned.clear();
                s.plannedBytes = 0;
            }
            s.last = block;
            s.lastReadNanos = ticker.read();
            if (!sequential) {
                s.reset();
                return List.of();
            }
            s.run++;
            if (s.run >= sequentialThreshold) {
                if (s.windowBytes == 0) {
                    s.windowBytes = initialWindowBytes;
                } else if (prefetchPaidOff) {
                    s.windowBytes = Math.min(maxWindowBytes, s.windowBytes * 2);
                }
            }
            if (s.windowBytes == 0 || s.plannedBytes >= s.windowBytes / 2) {
                return List.of();
            }
            return planMore(streamId, s);
        }
    }

    /**
     * Plans more of a sequential stream's read-ahead, up to its window, without a read: called when
     * the locator could not see far enough at the last read (the next object's index was still
     * being fetched) and now can. Returns the blocks to prefetch (often none).
     */
    List<BlockRef> resume(long streamId) {
        if (locator == null) {
            return List.of();
        }
        StreamState s = streams.getIfPresent(streamId);
        if (s == null) {
            return List.of();
        }
        synchronized (s) {
            if (s.windowBytes == 0 || s.last == null || s.plannedBytes >= s.windowBytes) {
                return List.of();
            }
            return planMore(streamId, s);
        }
    }

    /** Asks the locator for the blocks after the plan (or the last read), up to the window. */
    private List<BlockRef> planMore(long streamId, StreamState s) {
        BlockRef from = s.planned.isEmpty() ? s.last : s.planned.peekLast();
        List<BlockRef> next;
        try {
            next = List.copyOf(locator.blocksAfter(streamId, from, s.windowBytes - s.plannedBytes));
        } catch (RuntimeException e) {
            // Read-ahead is an optimisation: a failing locator must not fail (or leak) the read.
            LOG.warn("read-ahead locator failed: streamId={} after={}", streamId, from, e);
            return List.of();
        }
        for (BlockRef r : next) {
            s.planned.addLast(r);
            s.plannedBytes += r.sizeBytes();
        }
        return next;
    }

    /**
     * Whether {@code block}, in another object than {@code last}, is where the stream's data
     * continues after {@code last}: a scan crossing into the next object stays sequential even when
     * read-ahead had not planned that far (the next object's index was not known yet).
     */
    private boolean continuesInNextObject(long streamId, BlockRef last, BlockRef block) {
        if (last.objectId() == block.objectId()) {
            return false;
        }
        try {
            return locator.follows(streamId, last, block);
        } catch (RuntimeException e) {
            LOG.warn("read-ahead locator failed: streamId={} after={}", streamId, last, e);
            return false;
        }
    }

    /** Read-ahead of {@code skipped} was not done (budget full): forget the plan and shrink the window. */
    void notLoaded(long streamId, List<BlockRef> skipped) {
        StreamState s = streams.getIfPresent(streamId);
        if (s == null) {
            return;
        }
        synchronized (s) {
            Set<BlockKey> keys = new HashSet<>();
            for (BlockRef r : skipped) {
                keys.add(r.key());
            }
            s.planned.removeIf(r -> {
                if (keys.contains(r.key())) {
                    s.plannedBytes -= r.sizeBytes();
                    return true;
                }
                return false;
            });
            s.shrink();
        }
    }

    /** Prefetched data of the stream left the cache unread: the window was too large for memory. */
    void unusedPrefetch(long streamId) {
        StreamState s = streams.getIfPresent(streamId);
        if (s != null) {
            synchronized (s) {
                s.shrink();
            }
        }
    }

    /** Whether the stream currently reads sequentially (has a read-ahead window). */
    boolean isSequential(long streamId) {
        StreamState s = streams.getIfPresent(streamId);
        if (s == null) {
            return false;
        }
        synchronized (s) {
            return s.windowBytes > 0;
        }
    }

    /** The stream's current window in bytes (0 when not sequential). */
    long windowBytes(long streamId) {
        StreamState s = streams.getIfPresent(streamId);
        if (s == null) {
            return 0;
        }
        synchronized (s) {
            return s.windowBytes;
        }
    }

    /**
     * Whether the stream has read nothing for at least {@code idleNanos} (or is not tracked): its
     * unread read-ahead may then go to streams that are reading.
     */
    boolean isIdle(long streamId, long idleNanos, long nowNanos) {
        StreamState s = streams.getIfPresent(streamId);
        if (s == null) {
            return true;
        }
        synchronized (s) {
            return nowNanos - s.lastReadNanos >= idleNanos;
        }
    }

    void forget(long streamId) {
        streams.invalidate(streamId);
    }

    /** Read-ahead state of one stream; guarded by its own monitor. */
    private final class StreamState {
        BlockRef last;
        /** When {@link #last} was read, on the ticker. */
        long lastReadNanos;
        int run;
        long windowBytes;
        /** Blocks planned ahead of the reader, in read order. */
        final ArrayDeque<BlockRef> planned = new ArrayDeque<>();
        long plannedBytes;

        /** Drops planned blocks up to and including {@code block}; true if it was planned. */
        boolean consumePlanned(BlockRef block) {
            BlockKey key = block.key();
            boolean found = false;
            for (BlockRef r : planned) {
                if (r.key().equals(key)) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                return false;
            }
            while (!planned.isEmpty()) {
                BlockRef r = planned.pollFirst();
                plannedBytes -= r.sizeBytes();
                if (r.key().equals(key)) {
                    break;
                }
            }
            return true;
        }

        void reset() {
            run = 1;
            windowBytes = 0;
            planned.clear();
            plannedBytes = 0;
        }

        void shrink() {
            if (windowBytes > 0) {
                windowBytes = Math.max(initialWindowBytes, windowBytes / 2);
            }
        }
    }
}
