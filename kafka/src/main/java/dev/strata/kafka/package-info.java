/**
 * A Kafka partition log on Strata streams.
 *
 * <p>Owns: the mapping of one Kafka topic-partition onto Strata streams (a data stream where stream
 * offset == Kafka offset and one stored Strata batch == one Kafka v2 record batch, byte for byte; a
 * meta stream of state snapshots), leader-side validation of produced batches (with Kafka's own
 * record classes from kafka-clients), offset assignment in place, timestamps ({@code CreateTime} /
 * {@code LogAppendTime}), the partition leader epoch stamp and the leader-epoch cache, idempotent
 * producers (sequence and epoch checks, duplicates), transactions (markers, last stable offset,
 * aborted transactions), reads that return whole stored batches, the
 * log start offset (deleteRecords), recovery from the newest snapshot plus the data tail, and the
 * mapping of every failure onto Kafka's {@link org.apache.kafka.common.protocol.Errors}.
 *
 * <p>Does not own: the wire protocol, request parsing, replication, group coordination (an
 * embedding broker's job), nor where streams live or how long appends take (the
 * {@link dev.strata.api.StreamStore} it is given). Not yet here (later slices, see the module
 * README): the time index, retention.
 *
 * <p>Threads: this package starts none. Append, read and delete futures complete on the thread that
 * completes the underlying {@link dev.strata.api.Stream} future (the store's callback executor), or
 * on the caller's thread when they fail validation or the producer checks; deleteRecords futures
 * complete on the common fork-join pool (the step after the trim takes the log's lock). Snapshot
 * writes run on the common fork-join pool (one at a time per log).
 *
 * <p>Buffers: {@code appendAsLeader} modifies the caller's batch in place (offsets, timestamp,
 * leader epoch, as Kafka's broker does) and hands a view of it to the stream; the caller must not
 * change those bytes until the returned future completes. A read's {@link dev.strata.kafka.ReadResult}
 * must be closed by the caller: a read of one stored batch returns a view of Strata's fetch buffer
 * (no copy), released on close; a read of several batches copies them once to the heap and has
 * released Strata's buffers already.
 */
package dev.strata.kafka;
