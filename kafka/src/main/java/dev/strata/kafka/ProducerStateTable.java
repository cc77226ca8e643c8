package dev.strata.kafka;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * Idempotent- and transactional-producer state of one partition, with the rules of Kafka 4.3.1's
 * {@code ProducerStateEntry} / {@code ProducerAppendInfo} / {@code ProducerStateManager} for appends
 * from clients (origin {@code CLIENT}, no transaction verification) and transaction markers from the
 * coordinator (origin {@code COORDINATOR}): per producer id the newest producer epoch, the last
 * {@value #BATCHES_TO_RETAIN} batches' sequence and offset ranges, the coordinator epoch of its last
 * marker and the first offset of its ongoing transaction; and, over all producers, the ongoing
 * transactions by first offset and the completed ones whose marker is not durable yet (Kafka's
 * {@code ongoingTxns} / {@code unreplicatedTxns}), from which the last stable offset follows.
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

    /** No ongoing transaction ({@link Entry#txnFirstOffset()}). */
    static final long NO_TXN = -1;

    /** No marker seen yet ({@link Entry#coordinatorEpoch()}), as Kafka's {@code ProducerStateEntry.empty}. */
    static final int NO_COORDINATOR_EPOCH = -1;

    /**
     * A producer's state: its epoch, its newest batches oldest first, the timestamp of its last batch
     * or marker, the coordinator epoch of its last marker ({@value #NO_COORDINATOR_EPOCH} if none) and
     * the first offset of its ongoing transaction ({@value #NO_TXN} if none). Immutable copies are
     * handed out; the table keeps its own mutable form.
     */
    record Entry(long producerId, short epoch, List<BatchMeta> batches, long lastTimestamp, int coordinatorEpoch,
                 long txnFirstOffset) {
        Entry {
            batches = List.copyOf(batches);
        }

        /** A producer without transactional state (snapshots of version 1). */
        Entry(long producerId, short epoch, List<BatchMeta> batches, long lastTimestamp) {
            this(producerId, epoch, batches, lastTimestamp, NO_COORDINATOR_EPOCH, NO_TXN);
        }
    }

    /**
     * A transaction ended by a marker (Kafka's {@code CompletedTxn}, with the last stable offset
     * Kafka's {@code ProducerStateManager.lastStableOffset(CompletedTxn)} computes for the transaction index).
     *
     * @param lastOffset the marker's offset
     * @param lastStableOffset the first offset of the oldest transaction of another producer still
     *     ongoing when the marker was written, else {@code lastOffset + 1}
     */
    record CompletedTxn(long producerId, long firstOffset, long lastOffset, boolean aborted, long lastStableOffset) {
    }

    private static final class Mutable {
        short epoch;
        final ArrayDeque<BatchMeta> batches = new ArrayDeque<>(BATCHES_TO_RETAIN);
        long lastTimestamp;
        int coordinatorEpoch = NO_COORDINATOR_EPOCH;
        long txnFirstOffset = NO_TXN;

        Mutable(short epoch, long lastTimestamp) {
            this.epoch = epoch;
            this.lastTimestamp = lastTimestamp;
        }

        /** {@code ProducerStateEntry.addBatch}: a new epoch drops the older epoch's batches. */
        void add(short batchEpoch, BatchMeta meta) {
            setEpoch(batchEpoch);
            if (batches.size() == BATCHES_TO_RETAIN) {
                batches.removeFirst();
            }
            batches.addLast(meta);
            lastTimestamp = meta.timestamp();
        }

        void setEpoch(short newEpoch) {
            if (epoch != newEpoch) {
                batches.clear();
                epoch = newEpoch;
            }
        }
    }

    private final Map<Long, Mutable> producers = new HashMap<>();
    /** Ongoing transactions: first offset -> producer id (Kafka's {@code ongoingTxns}). */
    private final TreeMap<Long, Long> ongoing = new TreeMap<>();
    /**
     * Completed transactions whose marker may not be durable yet: first offset -> marker offset
     * (Kafka's {@code unreplicatedTxns}; here "replicated" means durable).
     */
    private final TreeMap<Long, Long> undurable = new TreeMap<>();

    /**
     * Checks a validated client batch that carries a producer id, against the producer's state
     * before it. Changes nothing.
     *
     * @return the batch this one duplicates (same epoch, same first and last sequence as one of
     *     the last five), whose offsets the append answers with; or {@code null} if it is new
     * @throws InvalidProducerEpochException if its epoch is older than the producer's
     * @throws OutOfOrderSequenceException if its sequence does not continue the producer's, or a
     *     new epoch does not start at sequence 0
     * @throws InvalidTxnStateException if it is not transactional while its producer has an ongoing
     *     transaction (checked last, as Kafka's {@code appendDataBatch})
     */
    BatchMeta check(RecordBatch batch, long firstOffset) {
        BatchMeta duplicate = checkSequence(batch, firstOffset);
        if (duplicate == null) {
            Mutable current = producers.get(batch.producerId());
            if (current != null && current.txnFirstOffset != NO_TXN && !batch.isTransactional()) {
                throw new InvalidTxnStateException("expected a transactional batch from producer " + batch.producerId()
                        + " at offset " + firstOffset + ": its transaction started at offset " + current.txnFirstOffset);
            }
        }
        return duplicate;
    }

    private BatchMeta checkSequence(RecordBatch batch, long firstOffset) {
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
     * Checks batches replicated with their offsets ({@link KafkaPartitionLog#appendWithOffsets}), in
     * order, as Kafka 4.3's {@code ProducerAppendInfo} does for origin {@code REPLICATION}: no
     * sequence, producer-epoch or coordinator-epoch check (Kafka only logs those), but a batch that is
     * not transactional from a producer whose transaction is ongoing (before the call, or begun by an
     * earlier batch of the call and not ended by a marker of the call) is refused, as Kafka's
     * {@code appendDataBatch} refuses it for every origin. Changes nothing.
     *
     * @throws InvalidTxnStateException naming the first such batch
     * @throws InvalidBatchException for a control batch of a producer whose first record is not an
     *     end-transaction marker (Kafka's {@code EndTransactionMarker.deserialize} throws for it)
     */
    void checkReplicated(List<? extends RecordBatch> batches) {
        Map<Long, Boolean> inTxn = new HashMap<>();
        for (RecordBatch batch : batches) {
            if (!batch.hasProducerId()) {
                continue;
            }
            long producerId = batch.producerId();
            boolean ongoingTxn = inTxn.computeIfAbsent(producerId, id -> {
                Mutable m = producers.get(id);
                return m != null && m.txnFirstOffset != NO_TXN;
            });
            if (batch.isControlBatch()) {
                if (batch.iterator().hasNext()) { // an empty control batch (compacted away) changes nothing
                    if (TxnMarkers.read(batch) == null) {
                        throw new InvalidBatchException("control batch of producer " + producerId + " at offset "
                                + batch.baseOffset() + " is not an end-transaction marker");
                    }
                    inTxn.put(producerId, false);
                }
            } else if (ongoingTxn && !batch.isTransactional()) {
                throw new InvalidTxnStateException("expected a transactional batch from producer " + producerId
                        + " at offset " + batch.baseOffset() + ": its transaction is ongoing");
            } else if (batch.isTransactional()) {
                inTxn.put(producerId, true);
            }
        }
    }

    /**
     * Records an appended data batch of {@code producerId} (after {@link #check}, or replayed from
     * the log without checks, as Kafka's loading from segments does); a transactional batch of a
     * producer without an ongoing transaction begins one at its first offset.
     */
    void add(long producerId, short epoch, BatchMeta meta, boolean transactional) {
        Mutable m = producers.computeIfAbsent(producerId, id -> new Mutable(epoch, meta.timestamp()));
        m.add(epoch, meta);
        if (transactional && m.txnFirstOffset == NO_TXN) {
            m.txnFirstOffset = meta.firstOffset();
            ongoing.put(meta.firstOffset(), producerId);
        }
    }

    /**
     * Records a replayed batch, taking its producer fields from the stored batch itself: a data
     * batch, or a transaction marker (control batch), without checks.
     *
     * @return the transaction a marker ended, or {@code null}
     */
    CompletedTxn addStored(RecordBatch batch) {
        if (batch.isControlBatch()) {
            TxnMarkers.Marker marker = TxnMarkers.read(batch);
            return marker == null ? null : addMarker(batch.producerId(), batch.producerEpoch(), marker.coordinatorEpoch(),
                    marker.commit(), batch.baseOffset(), marker.timestamp());
        }
        add(batch.producerId(), batch.producerEpoch(), new BatchMeta(batch.baseSequence(), batch.lastSequence(),
                batch.baseOffset(), batch.lastOffset(), batch.maxTimestamp()), batch.isTransactional());
        return null;
    }

    /**
     * Checks a coordinator's end-transaction marker (Kafka's {@code analyzeAndValidateProducerState}
     * for origin {@code COORDINATOR}, then {@code ProducerAppendInfo.appendEndTxnMarker}). Changes nothing.
     *
     * @param transactionVersion 0 or 1: the marker's producer epoch must be at least the producer's;
     *     2 and above: greater (the coordinator bumps it), except a retry at the same epoch once the
     *     transaction has ended (or at {@code Short.MAX_VALUE})
     * @throws InvalidProducerEpochException if the producer epoch is stale
     * @throws TransactionCoordinatorFencedException if the coordinator epoch is older than the
     *     producer's last marker's
     */
    void checkMarker(long producerId, short producerEpoch, int coordinatorEpoch, short transactionVersion, long offset) {
        Mutable current = producers.get(producerId);
        short currentEpoch = current == null ? RecordBatch.NO_PRODUCER_EPOCH : current.epoch;
        boolean ongoingTxn = current != null && current.txnFirstOffset != NO_TXN;
        boolean stale = transactionVersion >= 2 ? producerEpoch <= currentEpoch : producerEpoch < currentEpoch;
        boolean tv2Retry = transactionVersion >= 2 && producerEpoch == currentEpoch
                && (!ongoingTxn || producerEpoch == Short.MAX_VALUE);
        if (stale && !tv2Retry) {
            throw new InvalidProducerEpochException("epoch of producer " + producerId + " at offset " + offset + " is "
                    + producerEpoch + ", which is " + (transactionVersion >= 2 ? "<=" : "<") + " the last seen epoch "
                    + currentEpoch + " (transaction version " + transactionVersion + ")");
        }
        int currentCoordinatorEpoch = current == null ? NO_COORDINATOR_EPOCH : current.coordinatorEpoch;
        if (currentCoordinatorEpoch > coordinatorEpoch) {
            throw new TransactionCoordinatorFencedException("invalid coordinator epoch for producer " + producerId
                    + " at offset " + offset + ": " + coordinatorEpoch + " (zombie), " + currentCoordinatorEpoch + " (current)");
        }
    }

    /**
     * Records a marker at {@code offset} (after {@link #checkMarker}, or replayed): the producer takes
     * the marker's epoch (dropping its batches if that changes it), coordinator epoch and timestamp,
     * and its ongoing transaction, if any, ends.
     *
     * @return the transaction it ended, or {@code null} if none was ongoing (an empty transaction
     *     changes neither the last stable offset nor the aborted transactions)
     */
    CompletedTxn addMarker(long producerId, short producerEpoch, int coordinatorEpoch, boolean commit, long offset,
                           long timestamp) {
        Mutable m = producers.computeIfAbsent(producerId, id -> new Mutable(producerEpoch, timestamp));
        CompletedTxn completed = null;
        if (m.txnFirstOffset != NO_TXN) {
            completed = new CompletedTxn(producerId, m.txnFirstOffset, offset, !commit, lastStableOffsetAfter(producerId, offset));
            ongoing.remove(m.txnFirstOffset);
            undurable.put(m.txnFirstOffset, offset);
            m.txnFirstOffset = NO_TXN;
        }
        m.setEpoch(producerEpoch);
        m.coordinatorEpoch = coordinatorEpoch;
        m.lastTimestamp = timestamp;
        return completed;
    }

    private long lastStableOffsetAfter(long producerId, long markerOffset) {
        for (Map.Entry<Long, Long> txn : ongoing.entrySet()) {
            if (txn.getValue() != producerId) {
                return txn.getKey();
            }
        }
        return markerOffset + 1;
    }

    /**
     * The first offset that is not yet decided for a reader of committed data, given the high
     * watermark (durable end): the oldest of the ongoing transactions' first offsets and the
     * first offsets of completed transactions whose marker is at or above {@code highWatermark}
     * (Kafka's {@code firstUnstableOffset}, after {@code onHighWatermarkUpdated}); or
     * {@code highWatermark} if there is none below it. Forgets completed transactions that are now
     * durable.
     */
    long firstUnstableOffset(long highWatermark) {
        onHighWatermark(highWatermark);
        long first = highWatermark;
        if (!ongoing.isEmpty()) {
            first = Math.min(first, ongoing.firstKey());
        }
        if (!undurable.isEmpty()) {
            first = Math.min(first, undurable.firstKey());
        }
        return first;
    }

    /**
     * Forgets the completed transactions whose marker is below {@code highWatermark} (durable):
     * Kafka's {@code onHighWatermarkUpdated}.
     */
    void onHighWatermark(long highWatermark) {
        undurable.values().removeIf(markerOffset -> markerOffset < highWatermark);
    }

    /** Puts a producer's state as a snapshot kept it (its ongoing transaction included). */
    void load(Entry entry) {
        Mutable m = new Mutable(entry.epoch(), entry.lastTimestamp());
        m.batches.addAll(entry.batches());
        m.coordinatorEpoch = entry.coordinatorEpoch();
        m.txnFirstOffset = entry.txnFirstOffset();
        producers.put(entry.producerId(), m);
        if (m.txnFirstOffset != NO_TXN) {
            ongoing.put(m.txnFirstOffset, entry.producerId());
        }
    }

    /** The state of one producer, or {@code null}. */
    Entry entry(long producerId) {
        Mutable m = producers.get(producerId);
        return m == null ? null : copy(producerId, m);
    }

    /** Copies of every producer's state (for a snapshot). */
    List<Entry> entries() {
        List<Entry> out = new ArrayList<>(producers.size());
        producers.forEach((id, m) -> out.add(copy(id, m)));
        return out;
    }

    private static Entry copy(long producerId, Mutable m) {
        return new Entry(producerId, m.epoch, new ArrayList<>(m.batches), m.lastTimestamp, m.coordinatorEpoch,
                m.txnFirstOffset);
    }

    /**
     * Forgets producers whose last timestamp is {@code expirationMs} or more before {@code nowMs}
     * and that have no ongoing transaction (Kafka's {@code isProducerExpired}).
     *
     * @return how many were removed
     */
    int removeExpired(long nowMs, long expirationMs) {
        int before = producers.size();
        producers.values().removeIf(m -> m.txnFirstOffset == NO_TXN && nowMs - m.lastTimestamp >= expirationMs);
        return before - producers.size();
    }

    /** Whether Kafka would drop this snapshot entry at load. */
    static boolean isExpired(Entry entry, long nowMs, long expirationMs) {
        return entry.txnFirstOffset() == NO_TXN && nowMs - entry.lastTimestamp() >= expirationMs;
    }

    int size() {
        return producers.size();
    }
}
