package dev.strata.wal.objectstore;

import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorage;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The WAL contract and fault injection on a local directory store. */
class LocalObjectStoreWalTest extends ObjectStoreWalContract {
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
