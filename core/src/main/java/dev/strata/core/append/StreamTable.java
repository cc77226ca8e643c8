package dev.strata.core.append;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.LongFunction;

/**
 * The streams this process knows, by id: each one's {@link StreamState}. Shared by the
 * {@link StreamRegistry}, which adds and removes streams, and the uploader, which asks
 * {@link #isLive} to leave deleted streams' data out of objects. Thread-safe.
 */
public final class StreamTable {
    private final ConcurrentHashMap<Long, StreamState> streams = new ConcurrentHashMap<>();

    /** Whether {@code streamId} exists (not deleted) in this store. */
    public boolean isLive(long streamId) {
        StreamState s = streams.get(streamId);
        return s != null && !s.deleted;
    }

    StreamState get(long streamId) {
        return streams.get(streamId);
    }

    void put(StreamState state) {
        streams.put(state.id, state);
    }

    StreamState remove(long streamId) {
        return streams.remove(streamId);
    }

    StreamState computeIfAbsent(long streamId, LongFunction<StreamState> create) {
        return streams.computeIfAbsent(streamId, create::apply);
    }

    StreamState compute(long streamId, BiFunction<Long, StreamState, StreamState> update) {
        return streams.compute(streamId, update);
    }
}
