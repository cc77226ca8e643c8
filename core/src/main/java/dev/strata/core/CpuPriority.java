package dev.strata.core;

import dev.strata.core.support.ThreadScheduling;

/**
 * How much of the CPU a thread gets when the CPU is contended: the operating-system scheduling
 * priority of the store's background threads ({@link Strata.Builder#backgroundCpuPriority}), or of
 * an application's own threads ({@link #applyToCurrentThread()}), such as the consumers of a
 * replay, so that they cannot delay the threads that acknowledge appends.
 *
 * <p>On Linux under the default scheduler (CFS/EEVDF) a thread's share of a contended core is its
 * weight over the sum of the weights of the runnable threads: nice 0 weighs 1024, nice 10 weighs
 * 110, {@code SCHED_IDLE} 3. An uncontended core is used in full at every priority: a lowered
 * thread is slowed only while normal threads want the core, and a normal thread that wakes up
 * preempts it at once.
 *
 * <p>Applying a priority needs JDK 22+ (the FFM API), native access
 * ({@code --enable-native-access=ALL-UNNAMED}, or {@code Enable-Native-Access: ALL-UNNAMED} in an
 * executable jar's manifest) and Linux; elsewhere threads keep their priority and the store logs
 * why, once. Going back up from {@link #LOW} or {@link #IDLE} to {@link #NORMAL} needs
 * {@code CAP_SYS_NICE} (or a high enough {@code RLIMIT_NICE}): an unprivileged thread may only lower
 * itself.
 *
 * <p>Thread-safety: an immutable enum.
 */
public enum CpuPriority {
    /** Nice 0 and the default policy ({@code SCHED_OTHER}): what threads start with. */
    NORMAL,
    /** Nice 10: about a tenth of a contended core against one normal thread (weight 110 vs 1024). */
    LOW,
    /**
     * {@code SCHED_IDLE}: runs on what normal threads leave (weight 3, under 1% of a contended
     * core). Work on such threads can wait for as long as the CPU stays saturated by normal threads.
     */
    IDLE;

    /**
     * The priority named {@code name}, in any case ({@code "idle"}, {@code "LOW"}): for command
     * lines and configuration files.
     *
     * @throws IllegalArgumentException naming the three choices if {@code name} is none of them
     */
    public static CpuPriority parse(String name) {
        for (CpuPriority p : values()) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("must be normal, low or idle, got '" + name + "'");
    }

    /**
     * Whether this JVM can set threads' CPU priorities (JDK 22+, native access, Linux); when not,
     * {@link #applyToCurrentThread()} returns false and the store's threads keep their priority.
     */
    public static boolean available() {
        return ThreadScheduling.available();
    }

    /**
     * Sets the calling thread's CPU priority to this one (on Linux the priority is per thread).
     *
     * @return true if the thread now has this priority; false if the platform cannot set it (JDK
     *         before 22, no native access, not Linux) or the kernel refused it (raising a priority
     *         without privilege); the thread then keeps the priority it had. Never throws.
     */
    public boolean applyToCurrentThread() {
        return ThreadScheduling.applyToCurrentThread(this);
    }
}
