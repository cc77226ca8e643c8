package dev.strata.wal;

import dev.strata.wal.spi.WriteBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link BlockDeviceWal} whose device misbehaves on a seeded schedule: EIO, ENOSPC, short writes
 * (the device accepts only a prefix and says so) and torn writes (a prefix of the blocks reaches the
 * device, then the write fails, as in a crash or a pulled cable). Shipped in the test-jar so the
 * engine's reliability tests can use it; a failing run replays from its seed.
 *
 * <p>Thread-safe. Usage:
 * <pre>{@code
 * FaultInjectingWal.Plan plan = FaultInjectingWal.plan(42).failWrite(3, FaultInjectingWal.Fault.TORN_WRITE).build();
 * BlockDeviceWal wal = FaultInjectingWal.open(options, plan);
 * }</pre>
 */
public final class FaultInjectingWal {

    /** What goes wrong with a write. */
    public enum Fault {
        /** Nothing is written; the write fails with an I/O error (EIO). */
        EIO,
        /** Nothing is written; the write fails with "no space left on device" (ENOSPC). */
        ENOSPC,
        /** A block-aligned prefix is written and reported as the (short) byte count, without error. */
        SHORT_WRITE,
        /** A seeded random prefix of the blocks is written, then the write fails with EIO. */
        TORN_WRITE
    }

    private FaultInjectingWal() {
    }

    /** Opens the WAL at {@code options.path()} with its write backend wrapped by {@code plan}. */
    public static BlockDeviceWal open(WalOptions options, Plan plan) {
        return BlockDeviceWal.open(options, backend -> new Backend(backend, plan));
    }

    public static Plan.Builder plan(long seed) {
        return new Plan.Builder(seed);
    }

    /** Which writes fail, and how. Immutable; counts injections. */
    public static final class Plan {
        private final long seed;
        private final List<long[]> exact; // {writeNumber, fault ordinal}
        private final double probability;
        private final List<Fault> randomFaults;
        private final boolean sticky;
        private final AtomicLong injected = new AtomicLong();

        private Plan(Builder b) {
            this.seed = b.seed;
            this.exact = List.copyOf(b.exact);
            this.probability = b.probability;
            this.randomFaults = List.copyOf(b.randomFaults);
            this.sticky = b.sticky;
        }

        /** Faults injected so far. */
        public long injected() {
            return injected.get();
        }

        public long seed() {
            return seed;
        }

        /** Builder; not thread-safe. */
        public static final class Builder {
            private final long seed;
            private final List<long[]> exact = new ArrayList<>();
            private double probability;
            private final List<Fault> randomFaults = new ArrayList<>();
            private boolean sticky;

            private Builder(long seed) {
                this.seed = seed;
            }

            /** The {@code writeNumber}-th data write (1-based) fails with {@code fault}. */
            public Builder failWrite(long writeNumber, Fault fault) {
                if (writeNumber < 1) {
                    throw new IllegalArgumentException("writeNumber must be >= 1, got " + writeNumber);
                }
                exact.add(new long[] {writeNumber, Objects.requireNonNull(fault).ordinal()});
                return this;
            }

            /** Each write fails with {@code probability}, with one of {@code faults} chosen by the seed. */
            public Builder failRandomly(double probability, Fault... faults) {
                if (probability < 0 || probability > 1 || faults.length == 0) {
                    throw new IllegalArgumentException("probability must be in [0, 1] with faults, got "
                            + probability + " faults=" + faults.length);
                }
                this.probability = probability;
                this.randomFaults.addAll(List.of(faults));
                return this;
            }

            /** After the first fault, every later write fails with EIO (a dead device). */
            public Builder sticky() {
                this.sticky = true;
                return this;
            }

            public Plan build() {
                return new Plan(this);
            }
        }
    }

    /** The wrapping backend. */
    static final class Backend implements WriteBackend {
        private final WriteBackend delegate;
        private final Plan plan;
        private final SplittableRandom random;
        private long writes;
        private boolean dead;

        Backend(WriteBackend delegate, Plan plan) {
            this.delegate = delegate;
            this.plan = plan;
            this.random = new SplittableRandom(plan.seed);
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public int maxInFlight() {
            return delegate.maxInFlight();
        }

        @Override
        public boolean canWriteNow() {
            return delegate.canWriteNow();
        }

        /** The same faults, on the synchronous path (callerWritesWhenIdle). */
        @Override
        public long writeNow(long offset, ByteBuffer src) throws IOException {
            Injection i = next(src);
            if (i.fault() == null) {
                return delegate.writeNow(offset, src);
            }
            switch (i.fault()) {
                case EIO, ENOSPC -> throw failure(i.fault(), offset);
                case SHORT_WRITE -> {
                    return i.prefix() == 0 ? 0 : delegate.writeNow(offset, prefix(src, i.prefix()));
                }
                case TORN_WRITE -> {
                    long n = i.prefix() == 0 ? 0 : delegate.writeNow(offset, prefix(src, i.prefix()));
                    throw tornFailure(n, src.remaining(), offset);
                }
                default -> throw new AssertionError(i.fault());
            }
        }

        @Override
        public void submit(long offset, ByteBuffer src, Completion completion) {
            Injection i = next(src);
            if (i.fault() == null) {
                delegate.submit(offset, src, completion);
                return;
            }
            int length = src.remaining();
            switch (i.fault()) {
                case EIO, ENOSPC -> completion.completed(0, failure(i.fault(), offset));
                case SHORT_WRITE -> writePrefix(offset, src, i.prefix(), (n, e) -> completion.completed(e == null ? n : 0, e));
                case TORN_WRITE -> writePrefix(offset, src, i.prefix(),
                        (n, e) -> completion.completed(n, tornFailure(n, length, offset)));
                default -> throw new AssertionError(i.fault());
            }
        }

        /** What happens to the next write: its fault (null: none) and how many bytes of it reach the device. */
        private record Injection(Fault fault, int prefix) {
        }

        private synchronized Injection next(ByteBuffer src) {
            writes++;
            Fault fault = choose();
            int length = src.remaining();
            int blocks = length / WalFile.MIN_BLOCK_SIZE;
            int tornBlocks = blocks <= 1 ? 0 : random.nextInt(blocks); // drawn for every write: seeds replay
            if (fault == null) {
                return new Injection(null, length);
            }
            plan.injected.incrementAndGet();
            dead |= plan.sticky;
            int prefix = switch (fault) {
                case SHORT_WRITE -> (int) WalMath.alignDown(length / 2, WalFile.MIN_BLOCK_SIZE);
                case TORN_WRITE -> tornBlocks * WalFile.MIN_BLOCK_SIZE;
                case EIO, ENOSPC -> 0;
            };
            return new Injection(fault, prefix);
        }

        private static IOException failure(Fault fault, long offset) {
            return new IOException(fault == Fault.ENOSPC ? "ENOSPC (injected): No space left on device offset=" + offset
                    : "EIO (injected): Input/output error offset=" + offset);
        }

        private static IOException tornFailure(long written, int length, long offset) {
            return new IOException("EIO (injected torn write): wrote " + written + " of " + length + " bytes offset="
                    + offset);
        }

        private static ByteBuffer prefix(ByteBuffer src, int prefix) {
            ByteBuffer part = src.duplicate();
            part.limit(part.position() + prefix);
            return part;
        }

        private void writePrefix(long offset, ByteBuffer src, int prefix, Completion then) {
            if (prefix == 0) {
                then.completed(0, null);
                return;
            }
            delegate.submit(offset, prefix(src, prefix), then);
        }

        private Fault choose() {
            if (dead) {
                return Fault.EIO;
            }
            for (long[] e : plan.exact) {
                if (e[0] == writes) {
                    return Fault.values()[(int) e[1]];
                }
            }
            if (plan.probability > 0 && random.nextDouble() < plan.probability) {
                return plan.randomFaults.get(random.nextInt(plan.randomFaults.size()));
            }
            return null;
        }

        @Override
        public void close() throws IOException {
            delegate.close();
        }
    }
}
