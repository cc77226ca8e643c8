/**
 * A single-node Kafka-protocol broker on Strata, the example broker of the project (see the module
 * README for how to run it and what it serves).
 *
 * <p>Owns: the network server ({@link dev.strata.kafka.broker.KafkaBroker}, Netty, length-prefixed
 * frames, responses in request order per connection), request dispatch per API
 * ({@code KafkaApis} and one handler class per API), the durable topic catalog ({@code TopicCatalog},
 * a Strata stream of its own), producer-id allocation ({@code ProducerIds}), long-poll fetches
 * ({@code DelayedFetch}), classic consumer groups ({@code GroupHandler}, the state machine
 * {@code GroupCoordinator}, committed offsets in a Strata stream: {@code GroupOffsets}), and the command line ({@link dev.strata.kafka.broker.BrokerMain}).
 *
 * <p>Does not own: the wire format (kafka-clients' request/response classes parse and serialize
 * every message), the record format and a partition's semantics (offsets, validation, idempotent
 * producers: {@code dev.strata.kafka.KafkaPartitionLog}), storage ({@code dev.strata.api.StreamStore};
 * only {@code BrokerMain} builds one, with core's public builder).
 *
 * <p>Threads: "strata-kafka-broker-accept" accepts; "strata-kafka-broker-io-N" parse, dispatch and
 * write, and never wait for storage (except for the store's bounded backpressure wait inside an
 * append); Strata's threads complete the futures; "strata-kafka-broker-scheduler" expires waiting
 * fetches and producer ids and runs the group timers (session, join, sync).
 *
 * <p>Buffers: each request frame is copied to the heap and its Netty buffer released at once;
 * responses are heap buffers that Netty releases once written. No pooled buffer outlives a call.
 */
package dev.strata.kafka.broker;
