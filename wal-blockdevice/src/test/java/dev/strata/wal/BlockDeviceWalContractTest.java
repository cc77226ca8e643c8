package dev.strata.wal;

import dev.strata.wal.api.WriteAheadLog;
import java.nio.file.Path;

/** {@link BlockDeviceWal} (default backend for this JVM) against the {@link WriteAheadLog} contract kit. */
class BlockDeviceWalContractTest extends WriteAheadLogContractTest {
    @Override
    protected WriteAheadLog open(Path dir) {
        return BlockDeviceWal.open(WalOptions.builder(dir.resolve("contract.wal")).capacityBytes(1 << 20).build());
    }
}
