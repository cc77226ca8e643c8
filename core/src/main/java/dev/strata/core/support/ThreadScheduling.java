package dev.strata.core.support;

import dev.strata.core.CpuPriority;
import java.util.ServiceLoader;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's thread priorities: applies a {@link CpuPriority} to the calling thread through the
 * {@link NativeThreadScheduler} when this JVM has one, and makes the named daemon threads of the
 * engine's pools, each of which applies its pool's priority once, when it starts.
 *
 * <p>When a priority other than {@link CpuPriority#NORMAL} cannot be applied the thread runs at
 * the priority it has, and one WARN line says why (once per JVM). Thread-safe.
 */
public final class ThreadScheduling {
    private static final Logger LOG = LoggerFactory.getLogger(ThreadScheduling.class);
    private static final NativeThreadScheduler SCHEDULER = load();
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private ThreadScheduling() {
    }

    /** Whether this JVM can set thread priorities (JDK 22+, native access, Linux). */
    public static boolean available() {
        return SCHEDULER != null && SCHEDULER.unavailableReason() == null;
    }

    /**
     * Sets the calling thread's priority; false (and one WARN line per JVM) if it could not.
     * Never throws.
     */
    public static boolean applyToCurrentThread(CpuPriority priority) {
        if (SCHEDULER == null) {
            warnOnce(priority, "setting a thread's CPU priority needs JDK 22+ (this is "
                    + Runtime.version().feature() + ")");
            return false;
        }
        String reason = SCHEDULER.unavailableReason();
        if (reason != null) {
            warnOnce(priority, reason);
            return false;
        }
        int errno = SCHEDULER.apply(priority);
        if (errno != 0) {
            warnOnce(priority, "the kernel refused it, errno " + errno
                    + (errno == 1 || errno == 13 ? " (raising a priority needs CAP_SYS_NICE)" : ""));
            return false;
        }
        return true;
    }

    /**
     * A factory of daemon threads named {@code prefix-N} that set their priority to
     * {@code priority} when they start (nothing is done for {@link CpuPriority#NORMAL}).
     */
    public static ThreadFactory daemonThreads(String prefix, CpuPriority priority) {
        AtomicInteger n = new AtomicInteger();
        return r -> daemon(prefix + "-" + n.getAndIncrement(), priority, r);
    }

    /** A factory of one daemon thread named exactly {@code name} (see {@link #daemonThreads}). */
    public static ThreadFactory daemonThread(String name, CpuPriority priority) {
        return r -> daemon(name, priority, r);
    }

    private static Thread daemon(String name, CpuPriority priority, Runnable r) {
        Runnable body = priority == CpuPriority.NORMAL ? r : () -> {
            applyToCurrentThread(priority);
            r.run();
        };
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        return t;
    }

    private static void warnOnce(CpuPriority priority, String why) {
        if (priority != CpuPriority.NORMAL && WARNED.compareAndSet(false, true)) {
            LOG.warn("thread CPU priority {} not applied: {}; threads keep their priority", priority, why);
        }
    }

    private static NativeThreadScheduler load() {
        if (Runtime.version().feature() < 22) {
            return null;
        }
        for (NativeThreadScheduler s : ServiceLoader.load(NativeThreadScheduler.class,
                ThreadScheduling.class.getClassLoader())) {
            return s;
        }
        return null;
    }
}
