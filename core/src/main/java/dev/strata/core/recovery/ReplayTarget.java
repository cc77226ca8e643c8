package dev.strata.core.recovery;

import dev.strata.objectstore.format.StreamBatch;
import io.netty.buffer.ByteBuf;
import java.util.Map;

/**
 * Where WAL replay puts what it recovers: the append side's ledger and stream registry, and the
 * uploader. Used only at open, before the store serves, on the opening thread.
 */
public interface ReplayTarget {

    /** Adds a recovered record to the LogCache (which takes {@code encoded}), noting its WAL end. */
    void insert(StreamBatch batch, ByteBuf encoded, long walNextPosition);

    /** Accounts WAL data up to {@code walPosition} as handled without an insert (skipped records, accepted loss). */
    void skipTo(long walPosition);

    /** Registers every stream the metadata knows, with the next offsets replay found ({@code replayedEnds}). */
    void registerStreams(Map<Long, Long> replayedEnds);

    /** Uploads and commits what was replayed so far, waiting for it (bounds memory during a long replay). */
    void commitReplayed();
}
