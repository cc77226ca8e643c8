package dev.strata.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.wal.api.WriteAheadLog;
import dev.strata.wal.api.WriteAheadLogContractTest;
import dev.strata.wal.spi.WriteBackend;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * {@link BlockDeviceWal} (default backend for this JVM) against the {@link WriteAheadLog} contract kit.
 * Ownership is exclusive ({@link OwnershipLock}); a crash is simulated in-process by a write backend
 * that stops writing (as a machine that lost power: nothing more reaches the device), so the WAL fails
 * and its close writes no clean-close header; the next open then finds the log as a crash leaves it.
 * Real crashes (SIGKILL of a child JVM) are {@link WalCrashTest}'s.
 */
class BlockDeviceWalContractTest extends WriteAheadLogContractTest {
    private final Map<WriteAheadLog, PowerSwitch> switches = new IdentityHashMap<>();

    @Override
    protected WriteAheadLog open() {
        PowerSwitch power = new PowerSwitch();
        BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(file()).capacityBytes(1 << 20)
                .writeBufferBytes(1 << 16).groupCommitBytes(1 << 15).build(), power::wrap);
        switches.put(wal, power);
        return wal;
    }

    @Override
    protected Fencing fencing() {
        return Fencing.EXCLUSIVE_OPEN;
    }

    @Override
    protected void crash(WriteAheadLog wal) throws IOException {
        switches.get(wal).cut();
        // A write after the cut fails, which fails the WAL: nothing more is acknowledged, and close()
        // then skips the clean-close header (it writes one only after every write succeeded).
        wal.append(Unpooled.wrappedBuffer(new byte[] {1})).handle((r, e) -> null).join();
        wal.close();
        assertThat(WalInspector.inspect(file(), r -> { }).header().closedEnd())
                .as("the simulated crash left the header without a clean-close mark").isNegative();
    }

    private Path file() {
        return dir.resolve("contract.wal");
    }

    /** Wraps a write backend; once cut, every write fails without reaching the device. */
    private static final class PowerSwitch {
        private volatile boolean cut;

        void cut() {
            cut = true;
        }

        WriteBackend wrap(WriteBackend backend) {
            return new WriteBackend() {
                @Override
                public String name() {
                    return backend.name();
                }

                @Override
                public int maxInFlight() {
                    return backend.maxInFlight();
                }

                @Override
                public void submit(long offset, ByteBuffer src, Completion completion) {
                    if (cut) {
                        completion.completed(0, new IOException("simulated crash: the device is gone"));
                        return;
                    }
                    backend.submit(offset, src, completion);
                }

                @Override
                public boolean canWriteNow() {
                    return backend.canWriteNow();
                }

                @Override
                public long writeNow(long offset, ByteBuffer src) throws IOException {
                    if (cut) {
                        throw new IOException("simulated crash: the device is gone");
                    }
                    return backend.writeNow(offset, src);
                }

                @Override
                public void close() throws IOException {
                    backend.close();
                }
            };
        }
    }
}
