package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage contract on a local directory with buffered uploads: what a file system without
 * O_DIRECT gets ({@link LocalObjectStorageTest} covers direct uploads where the file system has them).
 */
class BufferedLocalObjectStorageTest extends ObjectStorageContractTest {

    @TempDir
    static Path dir;
    static ExecutorService io;
    static LocalObjectStorage storage;

    @BeforeAll
    static void open() {
        io = Executors.newFixedThreadPool(2);
        storage = LocalObjectStorage.open(dir.resolve("objects"), io, null, PooledByteBufAllocator.DEFAULT, false);
    }

    @AfterAll
    static void close() {
        storage.close();
        io.shutdown();
    }

    @Override
    protected ObjectStorage storage() {
        return storage;
    }

    @Override
    protected boolean usesMultipart() {
        return false;
    }

    @Test
    void uploadsAreBuffered() {
        assertThat(storage.directWrites()).isFalse();
    }
}
