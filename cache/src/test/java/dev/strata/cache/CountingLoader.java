package dev.strata.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link BlockLoader} that records its calls. In automatic mode it completes at once with buffers
 * whose first long is {@link #tag(long, int)}; in manual mode calls wait until the test completes them.
 */
final class CountingLoader implements BlockLoader {
    record Call(long objectId, List<BlockRef> blocks, CompletableFuture<List<ByteBuf>> future) {
    }

    private final ByteBufAllocator alloc;
    private final boolean manual;
    final List<Call> calls = new CopyOnWriteArrayList<>();
    private final ArrayDeque<Call> waiting = new ArrayDeque<>();

    CountingLoader(ByteBufAllocator alloc, boolean manual) {
        this.alloc = alloc;
        this.manual = manual;
    }

    static long tag(long objectId, int blockIndex) {
        return objectId * 1_000_003L + blockIndex;
    }

    @Override
    public CompletableFuture<List<ByteBuf>> load(long objectId, List<BlockRef> blocks) {
        Call call = new Call(objectId, blocks, new CompletableFuture<>());
        calls.add(call);
        if (manual) {
            synchronized (waiting) {
                waiting.add(call);
            }
        } else {
            call.future().complete(buffers(call));
        }
        return call.future();
    }

    List<ByteBuf> buffers(Call call) {
        List<ByteBuf> out = new ArrayList<>();
        for (BlockRef r : call.blocks()) {
            ByteBuf b = alloc.directBuffer(r.sizeBytes());
            b.writeLong(tag(r.objectId(), r.blockIndex()));
            b.writeZero(r.sizeBytes() - Long.BYTES);
            out.add(b);
        }
        return out;
    }

    /** Completes the oldest waiting call successfully; returns it. */
    Call completeNext() {
        Call c;
        synchronized (waiting) {
            c = waiting.poll();
        }
        c.future().complete(buffers(c));
        return c;
    }

    /** Fails the oldest waiting call. */
    Call failNext(Throwable error) {
        Call c;
        synchronized (waiting) {
            c = waiting.poll();
        }
        c.future().completeExceptionally(error);
        return c;
    }

    int waitingCalls() {
        synchronized (waiting) {
            return waiting.size();
        }
    }

    long blocksLoaded() {
        return calls.stream().mapToLong(c -> c.blocks().size()).sum();
    }
}
