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
 * same object, or one of the blocks read-ahead planned for the stream (which may be in the next
 * object). After {@code sequentialThreshold} sequential reads in a row the stream gets a window of
 * {@code initialWindowBytes}. The window doubles (up to {@code maxWindowBytes}) each time the reader
 * finds a block that read-ahead loaded or is loading: the reader keeps up with read-ahead, so bigger
 * loads help. It halves (not below the initial window) when memory is tight or read-ahead is
 * wasted: read-ahead was refused by the in-flight budget, or prefetched data expired (or was
 * invalidated) unread. The window never exceeds read-ahead's share of the in-flight budget, since a
 * larger one could never be loaded. A non-sequential read
 * resets the stream to no read-ahead. When the bytes planned ahead of the reader fall below half of
 * the window, the next blocks up to the window are planned through the {@link BlockLocator}.
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

    ReadAhead(BlockLocator locator, long initialWindowBytes, long maxWindowBytes, int sequentialThreshold,
            long maxTrackedStreams, Executor executor) {
        this.locator = locator;
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
            boolean sequential = s.last != null && (planned || s.last.isFollowedBy(block));
            if (!planned && !s.planned.isEmpty()) {
                // The plan always starts right after the last read, so it no longer matches this reader.
                s.planned.clear();
                s.plannedBytes = 0;
            }
            s.last = block;
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
            BlockRef from = s.planned.isEmpty() ? block : s.planned.peekLast();
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

    void forget(long streamId) {
        streams.invalidate(streamId);
    }

    /** Read-ahead state of one stream; guarded by its own monitor. */
    private final class StreamState {
        BlockRef last;
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
