package dev.strata.kafka;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Idempotent-producer state of one partition, with the rules of Kafka 4.3.1's
 * {@code ProducerStateEntry} / {@code ProducerAppendInfo} for appends from clients (origin
 * {@code CLIENT}, no transaction verification): per producer id the newest producer epoch and the
 * last {@value #BATCHES_TO_RETAIN} batches' sequence and offset ranges.
 *
 * <p>Not thread-safe: the owning {@link KafkaPartitionLog} guards it with its lock.
 */
final class ProducerStateTable {

    /** Kafka's {@code ProducerStateEntry.NUM_BATCHES_TO_RETAIN}. */
    static final int BATCHES_TO_RETAIN = 5;

    /**
     * One appended batch of a producer (Kafka's {@code BatchMetadata}).
     *
     * @param timestamp the stored batch's max timestamp (the log append time with LogAppendTime)
     */
    record BatchMeta(int firstSeq, int lastSeq, long firstOffset, long lastOffset, long timestamp) {
    }

    /**
     * A producer's state: its epoch, its newest batches oldest first, the timestamp of its last batch.
     * Immutable copies are handed out; the table keeps its own mutable form.
     */
    record Entry(long producerId, short epoch, List<BatchMeta> batches, long lastTimestamp) {
        Entry {
            batches = List.copyOf(batches);
        }
    }

    private static final class Mutable {
        short epoch;
        final ArrayDeque<BatchMeta> batches = new ArrayDeque<>(BATCHES_TO_RETAIN);
        long lastTimestamp;

        Mutable(short epoch, long lastTimestamp) {
            this.epoch = epoch;
            this.lastTimestamp = lastTimestamp;
        }

        /** {@code ProducerStateEntry.addBatch}: a new epoch drops the older epoch's batches. */
        void add(short batchEpoch, BatchMeta meta) {
            if (epoch != batchEpoch) {
                batches.clear();
                epoch = batchEpoch;
            }
            if (batches.size() == BATCHES_TO_RETAIN) {
                batches.removeFirst();
            }
            batches.addLast(meta);
            lastTimestamp = meta.timestamp();
        }
    }

    private final Map<Long, Mutable> producers = new HashMap<>();

    /**
     * Checks a validated client batch that carries a producer id, against the producer's state
     * before it. Changes nothing.
     *
     * @return the batch this one duplicates (same epoch, same first and last sequence as one of
     *     the last five), whose offsets the append answers with; or {@code null} if it is new
     * @throws InvalidProducerEpochException if its epoch is older than the producer's
     * @throws OutOfOrderSequenceException if its sequence does not continue the producer's, or a
     *     new epoch does not start at sequence 0
     */
    BatchMeta check(RecordBatch batch, long firstOffset) {
        long producerId = batch.producerId();
        short epoch = batch.producerEpoch();
        int firstSeq = batch.baseSequence();
        Mutable current = producers.get(producerId);
        short currentEpoch = current == null ? RecordBatch.NO_PRODUCER_EPOCH : current.epoch;
        if (current != null && epoch == currentEpoch) {
            for (BatchMeta meta : current.batches) {
                if (meta.firstSeq() == firstSeq && meta.lastSeq() == batch.lastSequence()) {
                    return meta;
                }
            }
        }
        if (epoch < currentEpoch) {
            throw new InvalidProducerEpochException("epoch of producer " + producerId + " at offset " + firstOffset
                    + " is " + epoch + ", which is smaller than the last seen epoch " + currentEpoch);
        }
        if (epoch != currentEpoch) {
            // a new epoch starts at 0 (any sequence is accepted from a producer this log has no epoch for)
            if (firstSeq != 0 && currentEpoch != RecordBatch.NO_PRODUCER_EPOCH) {
                throw new OutOfOrderSequenceException("invalid sequence number for new epoch of producer " + producerId
                        + " at offset " + firstOffset + ": " + epoch + " (request epoch), " + firstSeq + " (seq. number), "
                        + currentEpoch + " (current producer epoch)");
            }
        } else if (currentEpoch != RecordBatch.NO_PRODUCER_EPOCH) {
            int currentLastSeq = current.batches.isEmpty() ? RecordBatch.NO_SEQUENCE : current.batches.getLast().lastSeq();
            if (!inSequence(currentLastSeq, firstSeq)) {
                throw new OutOfOrderSequenceException("out of order sequence number for producer " + producerId
                        + " at offset " + firstOffset + ": " + firstSeq + " (incoming seq. number), " + currentLastSeq
                        + " (current end sequence number)");
            }
        }
        return null;
    }

    private static boolean inSequence(int lastSeq, int nextSeq) {
        return nextSeq == lastSeq + 1L || (nextSeq == 0 && lastSeq == Integer.MAX_VALUE);
    }

    /**
     * Records an appended batch of {@code producerId} (after {@link #check}, or replayed from the
     * log without checks, as Kafka's loading from segments does).
     */
    void add(long producerId, short epoch, BatchMeta meta) {
        producers.computeIfAbsent(producerId, id -> new Mutable(epoch, meta.timestamp())).add(epoch, meta);
    }

    /** Records a replayed batch, taking its producer fields from the stored batch itself. */
    void addStored(RecordBatch batch) {
        add(batch.producerId(), batch.producerEpoch(), new BatchMeta(batch.baseSequence(), batch.lastSequence(),
                batch.baseOffset(), batch.lastOffset(), batch.maxTimestamp()));
    }

    /** Puts a producer's state as a snapshot kept it. */
    void load(Entry entry) {
        Mutable m = new Mutable(entry.epoch(), entry.lastTimestamp());
        m.batches.addAll(entry.batches());
        producers.put(entry.producerId(), m);
    }

    /** The state of one producer, or {@code null}. */
    Entry entry(long producerId) {
        Mutable m = producers.get(producerId);
        return m == null ? null : new Entry(producerId, m.epoch, new ArrayList<>(m.batches), m.lastTimestamp);
    }

    /** Copies of every producer's state (for a snapshot). */
    List<Entry> entries() {
        List<Entry> out = new ArrayList<>(producers.size());
        producers.forEach((id, m) -> out.add(new Entry(id, m.epoch, new ArrayList<>(m.batches), m.lastTimestamp)));
        return out;
    }

    /**
     * Forgets producers whose last timestamp is {@code expirationMs} or more before {@code nowMs}
     * (Kafka's {@code isProducerExpired} without transactions).
     *
     * @return how many were removed
     */
    int removeExpired(long nowMs, long expirationMs) {
        int before = producers.size();
        producers.values().removeIf(m -> nowMs - m.lastTimestamp >= expirationMs);
        return before - producers.size();
    }

    /** Whether Kafka would drop this snapshot entry at load. */
    static boolean isExpired(Entry entry, long nowMs, long expirationMs) {
        return nowMs - entry.lastTimestamp() >= expirationMs;
    }

    int size() {
        return producers.size();
    }
}
