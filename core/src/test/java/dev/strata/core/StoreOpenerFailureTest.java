package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StorageException;
import dev.strata.api.StreamOptions;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The open sequence's failure path: whatever step fails, what the open made so far is closed (no file
 * of the store stays open, no thread it started stays alive, the locks are free: the same directories
 * open at once), and what the caller gave is left alone.
 */
class StoreOpenerFailureTest {
    private Path dir;
    private Set<Thread> threadsBefore;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("strata-opener");
        threadsBefore = Thread.getAllStackTraces().keySet();
    }

    @AfterEach
    void tearDown() {
        StoreFixtures.deleteRecursively(dir);
    }

    /** Fails after the locks and the WAL (its writer thread started), at the manifest's first read. */
    @Test
    void anObjectStoreThatFailsEveryRequestLeavesNothingOpenAndTheGivenStorageUsable() throws Exception {
        Path data = dir.resolve("data");
        LocalObjectStorage local = LocalObjectStorage.open(Files.createDirectories(dir.resolve("objects")));
        try {
            FaultInjectingObjectStorage failing = new FaultInjectingObjectStorage(local, 1);
            for (Operation op : Operation.values()) {
                failing.failRate(op, 1.0, ObjectStorageException.Kind.PERMANENT);
            }
            assertThatThrownBy(() -> StoreFixtures.small(data).objectStorage(failing).build())
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("objectStore");

            assertNothingOfTheStoreIsOpen(data);
            assertThat(await(local.list(""))).as("the given storage is not closed").isNotNull();
            try (DurableStreamStore store = StoreFixtures.small(data).objectStorage(local).build()) {
                await(store.createStream(StreamOptions.defaults()));
            }
        } finally {
            local.close();
        }
    }

    /** Fails once the store exists (manifest, LogCache, store threads made), before the WAL replay. */
    @Test
    void aFailureAfterTheStoreWasAssembledClosesTheStoreAndEverythingItOwns() throws Exception {
        Path data = dir.resolve("data");
        IllegalStateException injected = new IllegalStateException("injected: meter registration failed");
        SimpleMeterRegistry refusing = new SimpleMeterRegistry();
        refusing.config().meterFilter(new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                throw injected;
            }
        });

        assertThatThrownBy(() -> StoreFixtures.small(data).meterRegistry(refusing).build()).isSameAs(injected);

        assertNothingOfTheStoreIsOpen(data);
        try (DurableStreamStore store = StoreFixtures.small(data).build()) {
            await(store.createStream(StreamOptions.defaults()));
        }
    }

    @Test
    void executorsTheCallerGaveAreNotShutDownWhenTheOpenFails() {
        ExecutorService callbacks = Executors.newSingleThreadExecutor();
        ExecutorService reads = Executors.newSingleThreadExecutor();
        try {
            SimpleMeterRegistry refusing = new SimpleMeterRegistry();
            refusing.config().meterFilter(new MeterFilter() {
                @Override
                public Meter.Id map(Meter.Id id) {
                    throw new IllegalStateException("injected");
                }
            });
            assertThatThrownBy(() -> StoreFixtures.small(dir.resolve("data")).callbackExecutor(callbacks)
                    .readExecutor(reads).meterRegistry(refusing).build()).hasMessage("injected");
            assertThat(callbacks.isShutdown()).isFalse();
            assertThat(reads.isShutdown()).isFalse();
        } finally {
            callbacks.shutdownNow();
            reads.shutdownNow();
        }
    }

    /** Fails at the WAL: only the locks were taken, and they are free again. */
    @Test
    void aWalThatCannotOpenLeavesTheLocksFree() throws Exception {
        Path data = dir.resolve("data");
        StorageException injected = new StorageException("injected: device gone", false);
        assertThatThrownBy(() -> StoreFixtures.small(data).walOpener(options -> {
            throw injected;
        }).build()).isSameAs(injected);

        assertNothingOfTheStoreIsOpen(data);
        StoreFixtures.small(data).build().close();
    }

    /**
     * No file below {@code data} is open in this process, and every thread the failed open started has
     * ended (each is joined: the pools and the WAL were shut down before build() threw, so they end).
     */
    private void assertNothingOfTheStoreIsOpen(Path data) throws Exception {
        assertThat(openFilesBelow(data)).as("files of the store still open").isEmpty();
        List<Thread> started = new ArrayList<>(Thread.getAllStackTraces().keySet());
        started.removeAll(threadsBefore);
        started.removeIf(t -> !t.getName().startsWith("strata-"));
        for (Thread t : started) {
            t.join(10_000);
        }
        assertThat(started.stream().filter(Thread::isAlive).map(Thread::getName).collect(Collectors.toList()))
                .as("threads the failed open started").isEmpty();
    }

    /** Targets of this process's file descriptors below {@code data} (Linux: /proc/self/fd). */
    private static List<Path> openFilesBelow(Path data) throws IOException {
        Path fds = Path.of("/proc/self/fd");
        List<Path> open = new ArrayList<>();
        if (!Files.isDirectory(fds)) {
            return open; // not Linux: only the reopen checks the locks
        }
        Path real = data.toRealPath();
        try (var entries = Files.list(fds)) {
            for (Path fd : entries.collect(Collectors.toList())) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (target.startsWith(real) || target.startsWith(data)) {
                        open.add(target);
                    }
                } catch (IOException e) {
                    // closed between listing and reading: not open
                }
            }
        }
        return open;
    }
}
