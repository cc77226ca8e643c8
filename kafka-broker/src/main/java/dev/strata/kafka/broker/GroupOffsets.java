package dev.strata.kafka.broker;

import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Committed offsets of every consumer group, durable in a Strata stream of their own: a log of
 * commit entries, replayed at start (the last entry of a group and partition wins).
 *
 * <h2>Finding the stream</h2>
 * The {@link TopicCatalog} (itself found at a fixed stream id) records the stream's id in a
 * GROUP_OFFSETS entry. The first start on a store creates the stream and then records it; a crash in
 * between leaves an empty stream that nothing reads.
 *
 * <h2>Entries</h2>
 * A commit is one stream batch (or several, of at most {@link #BATCH_BYTES} bytes each, for a large
 * commit), big-endian:
 * <pre>
 *  version:byte(1) count:int
 *  (groupLength:short group:utf8 topicLength:short topic:utf8 partition:int offset:long leaderEpoch:int
 *   metadataLength:int(-1 = null) metadata:utf8 commitTimestamp:long){count}
 * </pre>
 *
 * <h2>Compaction</h2>
 * When the stream holds more than {@code max(compactMinEntries, 2 x live offsets)} entries, every live
 * offset is appended again (a snapshot in the same entry format) and, once that is durable, the stream
 * is trimmed to the snapshot's first offset: a restart replays at most about twice the live offsets
 * plus {@code compactMinEntries}. The snapshot is taken under the same lock that orders appends, from
 * the offsets as they will be once every append in flight is durable, so the log after the trim point
 * always rebuilds the latest state. A crash before the trim only leaves the older entries in place.
 *
 * <h2>Concurrency and failure</h2>
 * Thread-safe ({@code this} guards the maps and orders appends). A commit completes once durable and
 * only then becomes visible to {@link #committed}. A failed append fails the commit with the store's
 * exception; as Strata then refuses further appends on the handle, later commits fail too until the
 * broker restarts (not yet re-opened automatically).
 */
final class GroupOffsets implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupOffsets.class);

    /** Compaction never runs below this many entries in the stream. */
    static final int DEFAULT_COMPACT_MIN_ENTRIES = 10_000;
    /** Largest batch written (well below Strata's default 1 MiB batch limit). */
    static final int BATCH_BYTES = 256 * 1024;
    private static final byte VERSION = 1;

    /** One committed offset, as OffsetCommit carries it ({@code metadata} may be null). */
    record Committed(long offset, int leaderEpoch, String metadata, long commitTimestamp) {
    }

    private record Versioned(Committed committed, long sequence) {
    }

    private record Entry(String group, TopicPartition partition, Committed committed) {
    }

    private final Stream stream;
    private final int compactMinEntries;
    /** Offsets once every append issued is durable: the content of a snapshot. */
    private final Map<String, Map<TopicPartition, Committed>> latest = new HashMap<>(); // guarded by: this
    /** Durable offsets: what OffsetFetch sees. */
    private final Map<String, Map<TopicPartition, Versioned>> durable = new HashMap<>(); // guarded by: this
    private long sequence; // guarded by: this
    private long entriesInLog; // guarded by: this
    private boolean compacting; // guarded by: this
    private CompletableFuture<Void> lastCompaction = CompletableFuture.completedFuture(null); // guarded by: this

    private GroupOffsets(Stream stream, int compactMinEntries) {
        this.stream = stream;
        this.compactMinEntries = compactMinEntries;
    }

    /**
     * Opens the offsets stream {@code catalog} points to (creating and recording it on first use) and
     * replays it.
     *
     * @return the offsets; fails with {@link CorruptDataException} if an entry cannot be decoded, or the
     *     store's exception
     */
    static CompletableFuture<GroupOffsets> open(StreamStore store, TopicCatalog catalog, int compactMinEntries) {
        long id = catalog.groupOffsetsStreamId();
        CompletableFuture<Stream> stream = id >= 0
                ? store.openStream(id, TopicCatalog.STREAM_EPOCH)
                : store.createStream(StreamOptions.defaults().withEpoch(TopicCatalog.STREAM_EPOCH))
                        .thenCompose(created -> catalog.groupOffsetsStreamCreated(created.id()).thenApply(v -> created));
        return stream.thenCompose(s -> {
            GroupOffsets offsets = new GroupOffsets(s, compactMinEntries);
            return offsets.replayFrom(s.startOffset(), s.nextOffset()).thenApply(v -> offsets);
        });
    }

    /** The stream's id (tests). */
    long streamId() {
        return stream.id();
    }

    /** The durable committed offsets of {@code group} (empty if none). */
    synchronized Map<TopicPartition, Committed> committed(String group) {
        Map<TopicPartition, Committed> result = new HashMap<>();
        durable.getOrDefault(group, Map.of()).forEach((tp, v) -> result.put(tp, v.committed()));
        return result;
    }

    /** The groups with at least one durable committed offset. */
    synchronized Set<String> groups() {
        return Set.copyOf(durable.keySet());
    }

    /** Entries a replay would read now (tests: compaction bounds it). */
    synchronized long entriesInLog() {
        return entriesInLog;
    }

    /** The latest compaction: completes when its snapshot is durable and the stream trimmed (tests). */
    synchronized CompletableFuture<Void> lastCompaction() {
        return lastCompaction;
    }

    /**
     * Durably records {@code offsets} of {@code group}; completes once durable (then {@link #committed}
     * shows them), or fails with the store's exception.
     */
    CompletableFuture<Void> commit(String group, Map<TopicPartition, Committed> offsets) {
        if (offsets.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        List<Entry> entries = new ArrayList<>();
        offsets.forEach((tp, c) -> entries.add(new Entry(group, tp, c)));
        CompletableFuture<Void> done;
        synchronized (this) {
            done = appendLocked(entries).thenApply(r -> null);
            maybeCompactLocked();
        }
        return done;
    }

    /** Appends {@code entries} in batches; returns the first batch's base offset once all are durable. */
    private CompletableFuture<Long> appendLocked(List<Entry> entries) {
        List<CompletableFuture<?>> appends = new ArrayList<>();
        CompletableFuture<Long> firstBase = null;
        for (List<Entry> chunk : chunks(entries)) {
            long seq = ++sequence;
            CompletableFuture<Long> base = stream.append(RecordBatch.of(1, encode(chunk)))
                    .thenApply(r -> {
                        applyDurable(chunk, seq);
                        return r.baseOffset();
                    });
            if (firstBase == null) {
                firstBase = base;
            }
            appends.add(base);
            for (Entry e : chunk) {
                latest.computeIfAbsent(e.group(), g -> new HashMap<>()).put(e.partition(), e.committed());
            }
            entriesInLog += chunk.size();
        }
        CompletableFuture<Long> first = firstBase;
        return CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)).thenCompose(v -> first);
    }

    private synchronized void applyDurable(List<Entry> chunk, long seq) {
        for (Entry e : chunk) {
            Map<TopicPartition, Versioned> group = durable.computeIfAbsent(e.group(), g -> new HashMap<>());
            Versioned current = group.get(e.partition());
            if (current == null || current.sequence() < seq) {
                group.put(e.partition(), new Versioned(e.committed(), seq));
            }
        }
    }

    private void maybeCompactLocked() {
        long live = latest.values().stream().mapToLong(Map::size).sum();
        if (compacting || entriesInLog <= Math.max(compactMinEntries, 2 * live)) {
            return;
        }
        compacting = true;
        List<Entry> snapshot = new ArrayList<>();
        latest.forEach((group, offsets) -> offsets.forEach((tp, c) -> snapshot.add(new Entry(group, tp, c))));
        long before = entriesInLog;
        entriesInLog = 0; // the entries below the snapshot are dropped by the trim
        lastCompaction = appendLocked(snapshot)
                .thenCompose(stream::trim)
                .whenComplete((v, e) -> {
                    synchronized (this) {
                        compacting = false;
                    }
                    if (e != null) {
                        LOG.warn("compacting the group offsets stream {} failed (it stays longer until the next try)",
                                stream.id(), e);
                    } else {
                        LOG.info("group offsets stream {} compacted: {} entries to {} live offsets", stream.id(),
                                before, snapshot.size());
                    }
                });
    }

    private static List<List<Entry>> chunks(List<Entry> entries) {
        List<List<Entry>> chunks = new ArrayList<>();
        List<Entry> current = new ArrayList<>();
        int bytes = 0;
        for (Entry e : entries) {
            int size = size(e);
            if (!current.isEmpty() && bytes + size > BATCH_BYTES) {
                chunks.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(e);
            bytes += size;
        }
        if (!current.isEmpty()) {
            chunks.add(current);
        }
        return chunks;
    }

    private static int size(Entry e) {
        String metadata = e.committed().metadata();
        return 2 + utf8(e.group()).length + 2 + utf8(e.partition().topic()).length + 4 + 8 + 4 + 4
                + (metadata == null ? 0 : utf8(metadata).length) + 8;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ByteBuffer encode(List<Entry> entries) {
        int size = 1 + 4;
        for (Entry e : entries) {
            size += size(e);
        }
        ByteBuffer b = ByteBuffer.allocate(size).put(VERSION).putInt(entries.size());
        for (Entry e : entries) {
            byte[] group = utf8(e.group());
            byte[] topic = utf8(e.partition().topic());
            Committed c = e.committed();
            b.putShort((short) group.length).put(group).putShort((short) topic.length).put(topic)
                    .putInt(e.partition().partition()).putLong(c.offset()).putInt(c.leaderEpoch());
            if (c.metadata() == null) {
                b.putInt(-1);
            } else {
                byte[] metadata = utf8(c.metadata());
                b.putInt(metadata.length).put(metadata);
            }
            b.putLong(c.commitTimestamp());
        }
        return b.flip();
    }

    private CompletableFuture<Void> replayFrom(long from, long end) {
        return StreamReplay.forEachBatch(stream, from, end, "group offsets", batch -> {
            if (batch.baseOffset() >= from) { // the first batch may begin below a trimmed start
                replay(decode(batch.payload(), batch.baseOffset()));
            }
        });
    }

    private synchronized void replay(List<Entry> entries) {
        long seq = ++sequence;
        for (Entry e : entries) {
            latest.computeIfAbsent(e.group(), g -> new HashMap<>()).put(e.partition(), e.committed());
            durable.computeIfAbsent(e.group(), g -> new HashMap<>()).put(e.partition(), new Versioned(e.committed(), seq));
        }
        entriesInLog += entries.size();
    }

    private List<Entry> decode(ByteBuffer b, long offset) {
        try {
            byte version = b.get();
            if (version != VERSION) {
                throw new CorruptDataException("group offsets stream " + stream.id() + ", offset " + offset
                        + ": unknown version " + version);
            }
            int count = b.getInt();
            List<Entry> entries = new ArrayList<>(Math.min(count, 1024));
            for (int i = 0; i < count; i++) {
                String group = string(b, b.getShort());
                String topic = string(b, b.getShort());
                int partition = b.getInt();
                long committedOffset = b.getLong();
                int leaderEpoch = b.getInt();
                int metadataLength = b.getInt();
                String metadata = metadataLength < 0 ? null : string(b, metadataLength);
                entries.add(new Entry(group, new TopicPartition(topic, partition),
                        new Committed(committedOffset, leaderEpoch, metadata, b.getLong())));
            }
            return entries;
        } catch (BufferUnderflowException | NegativeArraySizeException e) {
            throw new CorruptDataException("group offsets stream " + stream.id() + ", offset " + offset + " is truncated");
        }
    }

    private static String string(ByteBuffer b, int length) {
        byte[] bytes = new byte[length];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        stream.close().join();
    }

    static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
