package dev.strata.wal.objectstore;

import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorage;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** wal-api's WAL contract on an {@link ObjectStoreWal} over a local directory store. */
class LocalObjectStoreWalSpiContractTest extends ObjectStoreWalSpiContract {
    @TempDir
    Path dir;

    @Override
    protected ObjectStorage newStorage() {
        return LocalObjectStorage.open(dir.resolve("store"));
    }

    @Override
    protected String newPrefix() {
        return "node-1";
    }
}
