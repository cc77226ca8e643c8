/**
 * The contract users and broker implementers code against: {@link dev.strata.api.StreamStore},
 * {@link dev.strata.api.Stream}, {@link dev.strata.api.RecordBatch}, fetch results and the typed
 * {@link dev.strata.api.StrataException} hierarchy.
 *
 * <p>Owns: the semantics of streams (offset assignment, fetch boundaries, trim, epoch fencing,
 * close and delete, recovery after a restart) as stated on each type. Does not own: how data is
 * stored (module {@code core} and the modules below it).
 *
 * <p>Depends on nothing but the JDK, so a broker can compile against it alone.
 *
 * <p>Failure delivery: every asynchronous method returns a {@link java.util.concurrent.CompletableFuture}
 * that fails with a {@link dev.strata.api.StrataException} subclass; the failure is never thrown
 * from the call itself. Programming errors (negative counts, null payloads, an end offset below
 * the start) are thrown at once as {@link java.lang.IllegalArgumentException}.
 */
package dev.strata.api;
