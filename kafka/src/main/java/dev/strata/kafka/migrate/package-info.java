/**
 * Migration of a Kafka topic-partition into a {@link dev.strata.kafka.KafkaPartitionLog} with its
 * offsets: {@link dev.strata.kafka.migrate.KafkaPartitionDir} reads a stopped Kafka broker's
 * partition directory with Kafka's own {@code FileRecords},
 * {@link dev.strata.kafka.migrate.KafkaLogMigration} appends its batches byte for byte (resumable
 * from the target's log end offset; also a command-line tool), and
 * {@link dev.strata.kafka.migrate.MigrationVerifier} compares every batch afterwards. What carries
 * over and what does not is in the module README ("Migrating a partition from Kafka").
 */
package dev.strata.kafka.migrate;
