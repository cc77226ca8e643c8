package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A store opened read-only serves reads and refuses every change, leaving the directory as it was. */
class ReadOnlyObjectStorageTest {

    @TempDir
    Path dir;

    @Test
    void readsAndRefusesWritesDeletesAndAborts() throws IOException {
        Path file = dir.resolve("a").resolve("b");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "hello");
        try (ReadOnlyObjectStorage storage = ReadOnlyObjectStorage.open(dir.toUri())) {
            assertThat(storage.head("a/b").join().size()).isEqualTo(5);
            ObjectData data = storage.get("a/b", ByteRange.all()).join();
            try {
                assertThat(data.content().toString(StandardCharsets.UTF_8)).isEqualTo("hello");
            } finally {
                data.release();
            }
            assertThat(storage.list("").join()).extracting(ObjectInfo::key).containsExactly("a/b");

            ByteBuf buf = Unpooled.copiedBuffer("x", StandardCharsets.UTF_8);
            assertThatThrownBy(() -> storage.put("a/c", buf)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("put refused (a/c)");
            assertThat(buf.refCnt()).isZero(); // ownership taken and released, as the contract says
            assertThatThrownBy(() -> storage.startUpload("a/c", PutCondition.none()))
                    .isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> storage.delete(List.of("a/b"))).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> storage.abortIncompleteUploads(List.of()))
                    .isInstanceOf(UnsupportedOperationException.class);
        }
        try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
            assertThat(files.filter(Files::isRegularFile).toList()).containsExactly(file); // no probe file left or made
        }
        assertThat(Files.readString(file)).isEqualTo("hello");
    }

    @Test
    void aMissingDirectoryIsNotCreated() {
        Path absent = dir.resolve("absent");
        assertThatThrownBy(() -> ReadOnlyObjectStorage.open(absent.toUri()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(absent.toString());
        assertThat(absent).doesNotExist();
    }
}
