/**
 * The workload runner ({@code java -jar jmh/target/strata-bench.jar --help}): end-to-end scenarios
 * that IoT platforms rehearse (ingest, tail, replay, burst, recovery, retention with compaction) against a real
 * {@code DurableStreamStore} on the embedded default or S3, reported as a table, a JSON file and an
 * optional HTML latency chart.
 *
 * <p>Owns: argument parsing, load generation with coordinated-omission-corrected latency, the
 * verification that every acknowledged record reads back with its bytes, and the reports.
 * Does not own: the engine (core) or the micro-benchmarks (the JMH classes beside this package).
 * Threads: "strata-bench-*" drivers and readers; the engine's own threads complete the futures.
 * Buffers: every {@code FetchResult} is closed by the reader that fetched it, in try-with-resources.
 */
package dev.strata.jmh.runner;
