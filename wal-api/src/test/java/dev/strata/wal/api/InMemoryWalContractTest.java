package dev.strata.wal.api;

/**
 * {@link InMemoryWal} against the contract kit: the kit's own check that it asks nothing of a device
 * (no file, no lock), and the run of its node-epoch fencing test. A crash of a WAL whose every record
 * is durable at once loses nothing but the WAL object: it stops, and its log stays.
 */
class InMemoryWalContractTest extends WriteAheadLogContractTest {
    private final InMemoryWal.Log log = new InMemoryWal.Log();

    @Override
    protected WriteAheadLog open() {
        return new InMemoryWal(log, 1 << 20, 64 << 10);
    }

    @Override
    protected Fencing fencing() {
        return Fencing.NODE_EPOCH;
    }

    @Override
    protected void crash(WriteAheadLog wal) {
        wal.close(); // nothing is left to lose: every accepted record is already in the log
    }
}
