package dev.strata.jmh.runner;

import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.util.ArrayList;
import java.util.List;

/**
 * One stream under load: its handle and the offset its next append receives. Exactly one driver
 * thread appends to a slot, so {@link #next} needs no lock; {@link #acked} is written by completion
 * callbacks (in offset order, as the API promises) and read by anyone.
 */
final class StreamSlot {
    final Stream stream;
    /** Offset the next accepted append gets; written only by the owning driver thread. */
    long next;
    /** End (exclusive) of acknowledged appends. */
    volatile long acked;

    StreamSlot(Stream stream) {
        this.stream = stream;
        this.next = stream.nextOffset();
        this.acked = next;
    }

    long id() {
        return stream.id();
    }

    /** Creates {@code n} new streams in {@code store}. */
    static List<StreamSlot> create(StreamStore store, int n) {
        return create(store, n, StreamOptions.defaults());
    }

    /** Creates {@code n} streams with {@code options} (e.g. a tenant). */
    static List<StreamSlot> create(StreamStore store, int n, StreamOptions options) {
        List<StreamSlot> slots = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            slots.add(new StreamSlot(store.createStream(options).join()));
        }
        return slots;
    }

    /** Opens the streams of {@code previous} again in {@code store} (after a close or a crash) at {@code epoch}. */
    static List<StreamSlot> reopen(StreamStore store, List<Long> ids, long epoch) {
        List<StreamSlot> slots = new ArrayList<>(ids.size());
        for (long id : ids) {
            slots.add(new StreamSlot(store.openStream(id, epoch).join()));
        }
        return slots;
    }

    static List<Long> ids(List<StreamSlot> slots) {
        return slots.stream().map(StreamSlot::id).toList();
    }
}
