package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 item 4: a listing of a {@link LocalObjectStorage} runs while other threads create,
 * rename and delete temporary files, objects and whole directories under it (as uploads and the
 * manifest snapshot cleanup do). No listing may fail, and no temporary file may appear in one.
 */
class LocalListingRaceTest {
    private static final int LISTINGS = 1_500;

    @TempDir
    Path dir;

    @Test
    void listingNeverFailsWhileEntriesComeAndGoAndNeverShowsTemporaryFiles() throws Exception {
        Path root = dir.resolve("objects");
        try (LocalObjectStorage storage = LocalObjectStorage.open(root)) {
            for (int i = 0; i < 20; i++) {
                storage.put("stable/" + i, Unpooled.wrappedBuffer(new byte[] {(byte) i})).join();
            }
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<Throwable> churnErrors = new ConcurrentLinkedQueue<>();
            CountDownLatch started = new CountDownLatch(2);
            // Temporary files created and renamed away or deleted, as an upload's commit does, and
            // whole directories that appear and vanish, as a cleanup of a key prefix does.
            Thread files = new Thread(() -> {
                started.countDown();
                long n = 0;
                while (!stop.get()) {
                    try {
                        Path temp = root.resolve("stable/" + LocalObjectStorage.TEMP_PREFIX + n);
                        Files.write(temp, new byte[] {1});
                        if (n % 2 == 0) {
                            Files.move(temp, root.resolve("churn-" + (n % 7)), StandardCopyOption.ATOMIC_MOVE,
                                    StandardCopyOption.REPLACE_EXISTING);
                        } else {
                            Files.delete(temp);
                        }
                        Path sub = root.resolve("gone/d" + (n % 3));
                        Files.createDirectories(sub);
                        Files.write(sub.resolve("k"), new byte[] {2});
                        Files.write(sub.resolve(LocalObjectStorage.TEMP_PREFIX + "x"), new byte[] {3});
                        deleteTree(sub);
                        n++;
                    } catch (IOException e) {
                        churnErrors.add(e);
                        return;
                    }
                }
            }, "test-churn-files");
            // Real uploads and deletes through the storage (temporary file, then rename).
            Thread objects = new Thread(() -> {
                started.countDown();
                long n = 0;
                while (!stop.get()) {
                    String key = "puts/" + (n++ % 5);
                    try {
                        storage.put(key, Unpooled.wrappedBuffer(new byte[64])).join();
                        storage.delete(List.of(key)).join();
                    } catch (RuntimeException e) {
                        churnErrors.add(e);
                        return;
                    }
                }
            }, "test-churn-objects");
            files.start();
            objects.start();
            started.await();
            try {
                for (int i = 0; i < LISTINGS; i++) {
                    String prefix = i % 3 == 0 ? "" : i % 3 == 1 ? "stable/" : "gone/";
                    List<ObjectInfo> listed = storage.list(prefix).join();
                    for (ObjectInfo info : listed) {
                        assertThat(info.key()).as("listing %d", i).doesNotContain(LocalObjectStorage.TEMP_PREFIX)
                                .startsWith(prefix);
                    }
                    if (!prefix.equals("gone/")) {
                        assertThat(listed).extracting(ObjectInfo::key).as("listing %d", i).contains("stable/0", "stable/19");
                    }
                }
            } finally {
                stop.set(true);
                files.join();
                objects.join();
            }
            assertThat(churnErrors).isEmpty();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }
}
