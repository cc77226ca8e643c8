package dev.strata.core.os;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.strata.core.CpuPriority;
import dev.strata.core.support.NativeThreadScheduler;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Sets the calling thread's CPU priority on Linux with two system calls through the FFM API:
 * {@code sched_setscheduler(0, policy, {0})} (pid 0 is the calling thread: on Linux policy and
 * nice value are per-thread attributes) and {@code setpriority(PRIO_PROCESS, 0, nice)}. Raw
 * {@code syscall} rather than the libc wrappers: musl's {@code sched_setscheduler} refuses every
 * call ({@code ENOSYS}) because POSIX means it per process. The numbers are those of x86-64 and
 * aarch64; on any other architecture the scheduler is unavailable.
 *
 * <p>Mapping: {@link CpuPriority#NORMAL} = {@code SCHED_OTHER}, nice 0; {@link CpuPriority#LOW} =
 * {@code SCHED_OTHER}, nice 10, or the thread's nice if already higher (LOW never raises a thread's
 * priority); {@link CpuPriority#IDLE} = {@code SCHED_IDLE}. Thread-safe (each
 * call acts on its own thread; {@code errno} is captured per call).
 */
public final class LinuxThreadScheduler implements NativeThreadScheduler {
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_IDLE = 5;
    private static final int PRIO_PROCESS = 0;
    private static final int LOW_NICE = 10;

    private final String unavailableReason = probe();

    /** For {@link java.util.ServiceLoader}. */
    public LinuxThreadScheduler() {
    }

    @Override
    public String unavailableReason() {
        return unavailableReason;
    }

    @Override
    public int apply(CpuPriority priority) {
        if (unavailableReason != null) {
            throw new IllegalStateException(unavailableReason);
        }
        int errno = Calls.setScheduler(priority == CpuPriority.IDLE ? SCHED_IDLE : SCHED_OTHER);
        if (errno != 0 || priority == CpuPriority.IDLE) {
            return errno;
        }
        if (priority == CpuPriority.LOW && Calls.nice() >= LOW_NICE) {
            return 0; // already as low or lower (a process started with nice 15): LOW never raises a thread
        }
        return Calls.setNice(priority == CpuPriority.LOW ? LOW_NICE : 0);
    }

    private static String probe() {
        if (!LinuxThreadScheduler.class.getModule().isNativeAccessEnabled()) {
            return "native access not enabled: run with --enable-native-access=ALL-UNNAMED"
                    + " (or Enable-Native-Access: ALL-UNNAMED in an executable jar's manifest)";
        }
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
            return "not Linux: os.name=" + System.getProperty("os.name");
        }
        if (Calls.numbers() == null) {
            return "no system call numbers for os.arch=" + System.getProperty("os.arch");
        }
        return null;
    }

    /**
     * The downcalls, in a holder so that they are linked only after {@link #probe()} found native
     * access enabled (linking is a restricted operation).
     */
    private static final class Calls {
        private static final long[] NUMBERS = numbers(); // sched_setscheduler, setpriority, getpriority
        private static final Linker LINKER = Linker.nativeLinker();
        private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        // long syscall(long number, ...): every argument after the number passed as a long
        private static final MethodHandle SYSCALL3 = LINKER.downcallHandle(
                LINKER.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));

        static long[] numbers() {
            switch (System.getProperty("os.arch", "")) {
                case "amd64":
                case "x86_64":
                    return new long[] {144, 141, 140};
                case "aarch64":
                    return new long[] {119, 140, 141};
                default:
                    return null;
            }
        }

        static int setScheduler(int policy) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment param = arena.allocate(JAVA_INT); // struct sched_param { int sched_priority; } = {0}
                return call(arena, NUMBERS[0], 0, policy, param.address());
            }
        }

        static int setNice(int nice) {
            try (Arena arena = Arena.ofConfined()) {
                return call(arena, NUMBERS[1], PRIO_PROCESS, 0, nice);
            }
        }

        /** The calling thread's nice value (the raw system call returns 20 - nice, never negative). */
        static int nice() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment captured = arena.allocate(CAPTURE);
                return 20 - (int) invoke(captured, NUMBERS[2], PRIO_PROCESS, 0, 0);
            }
        }

        private static int call(Arena arena, long number, long a, long b, long c) {
            MemorySegment captured = arena.allocate(CAPTURE);
            return invoke(captured, number, a, b, c) == -1 ? (int) ERRNO.get(captured, 0L) : 0;
        }

        private static long invoke(MemorySegment captured, long number, long a, long b, long c) {
            try {
                return (long) SYSCALL3.invokeExact(captured, number, a, b, c);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t); // invokeExact declares Throwable; the downcall throws nothing else
            }
        }

        private Calls() {
        }
    }
}
