package dev.strata.core;

/**
 * Where each append's time goes: the store reports, for every acknowledged append, the
 * {@link System#nanoTime()} at which it passed each stage of the append path. Set with
 * {@code Strata.builder().appendStageListener(..)}; off by default, and then the append path takes
 * no timestamps for it (a null check per stage). With a listener it takes four more
 * {@code System.nanoTime()} calls per append. Meant for benchmarks and diagnosis (the workload
 * runner's {@code --stages}), not for production monitoring (use {@code meterRegistry} there).
 *
 * <p>The stages, in order (each timestamp is at or after the one before):
 * <ol>
 *   <li>{@code calledNanos}: {@code Stream.append} was called;</li>
 *   <li>{@code handedToWalNanos}: the encoded batch is handed to the WAL (its append call begins;
 *       before it: quota and backpressure waits, the encode, the stream's lock and the offset
 *       assignment);</li>
 *   <li>{@code durableNanos}: the WAL reported it durable, on the thread that completes WAL writes
 *       (so the interval before it holds the WAL's queue, its group-commit wait, the write and the
 *       sync, and the wake-up of its completion thread);</li>
 *   <li>{@code visibleNanos}: the batch is in the LogCache and the stream's acknowledged end has
 *       moved past it: a tail fetch from here on returns it;</li>
 *   <li>{@code completingNanos}: the callback executor's thread began completing the caller's
 *       future (the hop from the WAL's thread to the stream's completion lane).</li>
 * </ol>
 *
 * <p>Called once per acknowledged append (never for failed ones) on the callback executor's thread,
 * right after the caller's future was completed (so the caller's own dependent stages ran first),
 * in offset order for any one stream. Must be thread-safe, quick and non-blocking: it runs on the
 * thread that completes the stream's next futures. An exception it throws is logged and otherwise
 * ignored.
 */
@FunctionalInterface
public interface AppendStageListener {

    /**
     * One acknowledged append's timestamps ({@link System#nanoTime()}).
     *
     * @param streamId the stream appended to
     * @param baseOffset the append's first offset
     */
    void onAppend(long streamId, long baseOffset, long calledNanos, long handedToWalNanos, long durableNanos,
            long visibleNanos, long completingNanos);
}
