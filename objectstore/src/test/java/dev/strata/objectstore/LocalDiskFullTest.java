package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.testing.TinyTmpfs;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 item 13: a full disk (ENOSPC) under a {@link LocalObjectStorage} is a retriable failure,
 * on a real file system that fills up (a 1 MiB tmpfs; skipped where mounting needs root and the test
 * does not have it).
 */
class LocalDiskFullTest {
    @TempDir
    Path tmp;

    @Test
    void aFullDiskFailsTheUploadAsRetriableAndTheSameUploadSucceedsOnceSpaceIsFreed() throws Exception {
        try (TinyTmpfs fs = TinyTmpfs.mount(tmp.resolve("full"), 1 << 20);
                LocalObjectStorage storage = LocalObjectStorage.open(fs.dir().resolve("objects"))) {
            byte[] content = new byte[2 << 20];
            Throwable failure = null;
            try {
                storage.put("data/big", Unpooled.wrappedBuffer(content)).join();
            } catch (CompletionException e) {
                failure = e.getCause();
            }
            assertThat(failure).isInstanceOf(ObjectStorageException.class).hasMessageContaining("No space left on device")
                    .hasMessageContaining("operation=PUT").hasMessageContaining("key=data/big");
            ObjectStorageException e = (ObjectStorageException) failure;
            assertThat(e.kind()).isEqualTo(ObjectStorageException.Kind.TRANSIENT);
            assertThat(e.isRetriable()).as("a full disk is retriable: %s", e).isTrue();
            try (var files = Files.walk(fs.dir())) {
                assertThat(files.filter(Files::isRegularFile)).as("the failed upload left nothing").isEmpty();
            }

            fs.resize(8 << 20); // the operator frees space
            ObjectInfo info = storage.put("data/big", Unpooled.wrappedBuffer(content)).join();
            assertThat(info.size()).isEqualTo(content.length);
            assertThat(storage.list("data/").join()).extracting(ObjectInfo::key).containsExactly("data/big");
        }
    }
}
