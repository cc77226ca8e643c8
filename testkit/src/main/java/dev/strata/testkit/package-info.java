/**
 * Strata's test kit (artifact {@code dev.strata:strata-testkit}, taken at test scope): what every
 * module's tests share, and what an implementer of the {@link dev.strata.api.StreamStore} API runs to
 * show that an implementation keeps its contract.
 *
 * <h2>What it owns</h2>
 * <ul>
 *   <li>{@link dev.strata.testkit.StreamStoreContractTest}: the StreamStore contract as an abstract
 *       test suite, with {@link dev.strata.testkit.StreamModel}, the model its property checks against.</li>
 *   <li>{@link dev.strata.testkit.ChildJvm}: the crash harness. A child JVM on the test class path
 *       reports what it did as stdout lines; the test reads them and kills the child with SIGKILL
 *       after N acknowledgements (never after a time), then checks what a replacement process finds.
 *       Every crash test of the project (core, WAL, Kafka log, broker, the recovery benchmark) runs
 *       its child through it.</li>
 *   <li>{@link dev.strata.testkit.AckLedger}: what a store acknowledged (per stream, base offset to
 *       payload seed, and trims), recorded by crash and fault campaigns and checked after a restart.</li>
 *   <li>{@link dev.strata.testkit.NettyLeakCheck}: fails the test class that leaked a Netty buffer
 *       (registered through {@code META-INF/services}; leak detection at paranoid).</li>
 *   <li>{@link dev.strata.testkit.Futures}: bounded waits, failures unwrapped to the documented cause.</li>
 * </ul>
 *
 * <h2>Why it depends on strata-api only</h2>
 * Every other module's tests use this kit (the leak check runs in all of them, the crash harness in
 * the WAL's, core's and the Kafka modules'). Maven refuses a cycle between modules whatever the
 * scope, so a kit that depended on {@code strata-wal-api}, {@code strata-objectstore} or
 * {@code strata-core} could not be used by that module's own tests. The kit therefore holds what needs
 * only the public API, and each SPI's contract kit ships with the module that defines the SPI, in that
 * module's test-jar, next to the implementations it is run against there:
 * <ul>
 *   <li>{@code dev.strata.wal.api.WriteAheadLogContractTest}: {@code strata-wal-api} test-jar;</li>
 *   <li>{@code dev.strata.objectstore.ObjectStorageContractTest} (and the fault-injecting and
 *       in-memory {@code ObjectStorage} wrappers of {@code dev.strata.objectstore.testing}):
 *       {@code strata-objectstore} test-jar;</li>
 *   <li>{@code dev.strata.core.metadata.MetadataStoreContractTest} (with
 *       {@code AbstractMetadataStore}, the public base class of the built-in stores):
 *       {@code strata-core} test-jar.</li>
 * </ul>
 * Store fixtures that need the engine (the small-settings {@code Strata.Builder}s of the campaigns
 * and crash children) stay in core's tests for the same reason.
 */
package dev.strata.testkit;
