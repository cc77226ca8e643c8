package dev.strata.kafka.broker;

import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamNotFoundException;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.Uuid;

/**
 * The broker's durable catalog: which topics exist (name, topic id, each partition's data and meta
 * stream ids), the cluster id and how far producer ids have been handed out. It is a Strata stream of
 * its own, an append-only list of entries replayed at start.
 *
 * <h2>Finding it</h2>
 * Strata streams have no names, so the catalog is <b>the first stream created in an empty store</b>,
 * which Strata gives the id {@link #CATALOG_STREAM_ID}. At start the broker opens that id; if the store
 * has no such stream it creates one and checks it received that id (otherwise the store already held
 * other streams and is not a broker's store: start fails rather than guessing). Keeping the pointer in
 * the store itself (not in a file of the data directory) means a broker on S3 and a new disk finds its
 * topics again.
 *
 * <h2>Entries</h2>
 * One stream batch (of one record) per entry, big-endian:
 * <pre>
 *  version:byte(1) type:byte body
 *  CLUSTER (1)          magic:int(0x534B4243 "SKBC") idMsb:long idLsb:long   (the first entry, written at creation)
 *  TOPIC_CREATED (2)    nameLength:short name:utf8 idMsb:long idLsb:long partitions:int
 *                       (dataStreamId:long metaStreamId:long){partitions}
 *  TOPIC_DELETED (3)    idMsb:long idLsb:long
 *  PRODUCER_IDS (4)     end:long     producer ids below end may have been handed out
 *  GROUP_OFFSETS (5)    streamId:long                               the stream of {@link GroupOffsets}
 * </pre>
 * A stream whose first entry is not CLUSTER with the magic is not a catalog: start fails with
 * {@link CorruptDataException} (a store whose first stream holds other data). An entry is applied to
 * the in-memory view only once durable. A deleted topic's entries stay in the
 * stream (the catalog is not compacted yet: it grows by one entry per topic created or deleted and per
 * {@link ProducerIds#BLOCK_SIZE} producer ids).
 *
 * <h2>Concurrency</h2>
 * Thread-safe: {@code this} guards the view ({@code topics}, {@code producerIdEnd}); appends are the
 * stream's (thread-safe, completing in order). Callers serialize topic changes themselves
 * ({@link Topics}), so the view never sees a delete before its create.
 */
final class TopicCatalog implements AutoCloseable {

    /** The id Strata gives the first stream of an empty store: the catalog's. */
    static final long CATALOG_STREAM_ID = 1;
    /** Stream epoch of every stream the broker opens (one broker per store; the store fences other processes). */
    static final long STREAM_EPOCH = 0;

    private static final byte VERSION = 1;
    private static final int MAGIC = 0x534B4243; // "SKBC": strata kafka broker catalog
    private static final byte CLUSTER = 1;
    private static final byte TOPIC_CREATED = 2;
    private static final byte TOPIC_DELETED = 3;
    private static final byte PRODUCER_IDS = 4;
    private static final byte GROUP_OFFSETS = 5;

    /** One partition's two streams, as {@code KafkaPartitionLog.open} needs them. */
    record PartitionStreams(long dataStreamId, long metaStreamId) {
    }

    /** A topic as the catalog records it. */
    record TopicEntry(String name, Uuid id, List<PartitionStreams> partitions) {
        TopicEntry {
            partitions = List.copyOf(partitions);
        }
    }

    private final Stream stream;
    private Uuid clusterId; // guarded by: this
    private final Map<Uuid, TopicEntry> topics = new LinkedHashMap<>(); // guarded by: this
    private long producerIdEnd; // guarded by: this
    private long groupOffsetsStreamId = -1; // guarded by: this

    private TopicCatalog(Stream stream) {
        this.stream = stream;
    }

    /**
     * Opens the catalog of {@code store}, creating it (with a new cluster id) in an empty store.
     *
     * @return the catalog with every durable entry applied; fails with {@link IllegalStateException}
     *     if the store has streams but no catalog, {@link CorruptDataException} if an entry cannot be
     *     decoded, or the store's exception
     */
    static CompletableFuture<TopicCatalog> open(StreamStore store) {
        return store.openStream(CATALOG_STREAM_ID, STREAM_EPOCH).handle((stream, error) -> {
            if (error == null) {
                TopicCatalog catalog = new TopicCatalog(stream);
                return catalog.replay().handle((v, failed) -> {
                    if (failed != null) {
                        stream.close();
                        throw new CompletionException(BrokerErrors.unwrap(failed));
                    }
                    return catalog;
                });
            }
            if (!(BrokerErrors.unwrap(error) instanceof StreamNotFoundException)) {
                throw new CompletionException(BrokerErrors.unwrap(error));
            }
            return store.createStream(StreamOptions.defaults().withEpoch(STREAM_EPOCH)).thenCompose(created -> {
                if (created.id() != CATALOG_STREAM_ID) {
                    created.close();
                    throw new IllegalStateException("the store holds streams but no broker catalog (stream "
                            + CATALOG_STREAM_ID + "): a new stream got id " + created.id()
                            + "; start the broker on an empty store or its own");
                }
                TopicCatalog catalog = new TopicCatalog(created);
                Uuid cluster = Uuid.randomUuid();
                return catalog.append(entry(CLUSTER, 4 + 16, b -> putUuid(b.putInt(MAGIC), cluster))).thenApply(v -> {
                    synchronized (catalog) {
                        catalog.clusterId = cluster;
                    }
                    return catalog;
                });
            });
        }).thenCompose(f -> f);
    }

    synchronized String clusterId() {
        return clusterId.toString();
    }

    /** The topics, in creation order. */
    synchronized List<TopicEntry> topics() {
        return List.copyOf(topics.values());
    }

    /** The first producer id not yet handed out by any broker run. */
    synchronized long producerIdEnd() {
        return producerIdEnd;
    }

    /** Records a new topic; completes once durable. */
    CompletableFuture<Void> topicCreated(TopicEntry topic) {
        byte[] name = topic.name().getBytes(StandardCharsets.UTF_8);
        int size = 2 + name.length + 16 + 4 + 16 * topic.partitions().size();
        return append(entry(TOPIC_CREATED, size, b -> {
            b.putShort((short) name.length).put(name);
            putUuid(b, topic.id());
            b.putInt(topic.partitions().size());
            topic.partitions().forEach(p -> b.putLong(p.dataStreamId()).putLong(p.metaStreamId()));
        })).thenRun(() -> {
            synchronized (this) {
                topics.put(topic.id(), topic);
            }
        });
    }

    /** Records that a topic is deleted; completes once durable. */
    CompletableFuture<Void> topicDeleted(Uuid topicId) {
        return append(entry(TOPIC_DELETED, 16, b -> putUuid(b, topicId))).thenRun(() -> {
            synchronized (this) {
                topics.remove(topicId);
            }
        });
    }

    /** Records that producer ids below {@code end} may be handed out; completes once durable. */
    CompletableFuture<Void> producerIdsReserved(long end) {
        return append(entry(PRODUCER_IDS, 8, b -> b.putLong(end))).thenRun(() -> {
            synchronized (this) {
                producerIdEnd = Math.max(producerIdEnd, end);
            }
        });
    }

    /** The stream of committed group offsets, or -1 if none was recorded yet. */
    synchronized long groupOffsetsStreamId() {
        return groupOffsetsStreamId;
    }

    /** Records the stream of committed group offsets; completes once durable. */
    CompletableFuture<Void> groupOffsetsStreamCreated(long streamId) {
        return append(entry(GROUP_OFFSETS, 8, b -> b.putLong(streamId))).thenRun(() -> {
            synchronized (this) {
                groupOffsetsStreamId = streamId;
            }
        });
    }

    private CompletableFuture<Void> append(ByteBuffer entry) {
        return stream.append(RecordBatch.of(1, entry)).thenApply(r -> null);
    }

    private interface Body {
        void write(ByteBuffer b);
    }

    private static ByteBuffer entry(byte type, int bodySize, Body body) {
        ByteBuffer b = ByteBuffer.allocate(2 + bodySize).put(VERSION).put(type);
        body.write(b);
        return b.flip();
    }

    private static void putUuid(ByteBuffer b, Uuid id) {
        b.putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits());
    }

    private static Uuid getUuid(ByteBuffer b) {
        return new Uuid(b.getLong(), b.getLong());
    }

    /** Applies every entry from the stream's start to its end. */
    private CompletableFuture<Void> replay() {
        return replayFrom(stream.startOffset(), stream.nextOffset());
    }

    private CompletableFuture<Void> replayFrom(long from, long end) {
        return StreamReplay.forEachBatch(stream, from, end, "broker catalog", batch -> apply(batch.payload(), batch.baseOffset()));
    }

    private synchronized void apply(ByteBuffer b, long offset) {
        try {
            byte version = b.get();
            byte type = b.get();
            if (clusterId == null && (version != VERSION || type != CLUSTER || b.getInt() != MAGIC)) {
                throw new CorruptDataException("stream " + stream.id() + " is not a broker catalog: its entry at offset "
                        + offset + " is not the catalog's first entry (version " + VERSION + ", type " + CLUSTER
                        + ", magic " + Integer.toHexString(MAGIC) + ")");
            }
            if (version != VERSION) {
                throw new CorruptDataException("broker catalog entry at offset " + offset + ": unknown version " + version);
            }
            switch (type) {
                case CLUSTER -> clusterId = getUuid(b);
                case TOPIC_CREATED -> {
                    byte[] name = new byte[b.getShort()];
                    b.get(name);
                    Uuid id = getUuid(b);
                    int count = b.getInt();
                    List<PartitionStreams> partitions = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        partitions.add(new PartitionStreams(b.getLong(), b.getLong()));
                    }
                    topics.put(id, new TopicEntry(new String(name, StandardCharsets.UTF_8), id, partitions));
                }
                case TOPIC_DELETED -> topics.remove(getUuid(b));
                case PRODUCER_IDS -> producerIdEnd = Math.max(producerIdEnd, b.getLong());
                case GROUP_OFFSETS -> groupOffsetsStreamId = b.getLong();
                default -> throw new CorruptDataException("broker catalog entry at offset " + offset + ": unknown type " + type);
            }
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw new CorruptDataException("broker catalog entry at offset " + offset + " is truncated");
        }
    }

    @Override
    public void close() {
        stream.close().join();
    }
}
