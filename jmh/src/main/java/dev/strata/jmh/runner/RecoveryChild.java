package dev.strata.jmh.runner;

import dev.strata.core.DurableStreamStore;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The process the recovery scenario kills: opens a store from {@link StoreSettings#toArgs()}, creates
 * the streams and appends to them as fast as it can (or at the given rate) without end, never
 * closing the store. Lines on stdout: {@code STREAM id} per stream, {@code READY}, then every
 * {@link #REPORT_MILLIS} ms {@code ACKED id end} per stream whose acknowledged end moved.
 *
 * <p>Args: the five settings arguments, then {@code streams recordBytes rate}.
 */
public final class RecoveryChild {
    /** How often acknowledged ends are reported to the parent. */
    static final long REPORT_MILLIS = 20;

    private RecoveryChild() {
    }

    public static void main(String[] args) {
        StoreSettings settings = StoreSettings.fromArgs(args, 0);
        int streams = Integer.parseInt(args[StoreSettings.ARG_COUNT]);
        int recordBytes = Integer.parseInt(args[StoreSettings.ARG_COUNT + 1]);
        long rate = Long.parseLong(args[StoreSettings.ARG_COUNT + 2]);
        PrintStream out = System.out;
        DurableStreamStore store = settings.open(); // never closed: the parent kills this process
        List<StreamSlot> slots = StreamSlot.create(store, streams);
        for (StreamSlot s : slots) {
            out.println("STREAM " + s.id());
        }
        out.println("READY");
        out.flush();
        LoadDriver driver = new LoadDriver(slots, recordBytes, rate, Long.MAX_VALUE, null).start(TimeUnit.DAYS.toNanos(1));
        long[] reported = new long[slots.size()];
        while (driver.failure() == null) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(REPORT_MILLIS));
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < slots.size(); i++) {
                long acked = slots.get(i).acked;
                if (acked != reported[i]) {
                    sb.append("ACKED ").append(slots.get(i).id()).append(' ').append(acked).append('\n');
                    reported[i] = acked;
                }
            }
            out.print(sb);
            out.flush();
        }
        out.println("ERROR " + driver.failure());
        out.flush();
    }
}
