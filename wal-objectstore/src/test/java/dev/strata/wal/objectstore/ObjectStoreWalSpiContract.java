package dev.strata.wal.objectstore;

import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.wal.api.WriteAheadLog;
import dev.strata.wal.api.WriteAheadLogContractTest;
import io.netty.buffer.ByteBuf;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * wal-api's {@link WriteAheadLogContractTest} (the contract every WAL implementation passes) on
 * {@link ObjectStoreWal}: fencing by node epoch; a crash cuts the crashed WAL off its storage (its
 * later PUTs and deletes fail, as a dead process's never arrive) without closing it.
 */
abstract class ObjectStoreWalSpiContract extends WriteAheadLogContractTest {
    private ObjectStorage storage;
    private String prefix;
    private final java.util.Map<WriteAheadLog, Cuttable> views = new java.util.IdentityHashMap<>();

    /** The storage of the test (closed after it). */
    protected abstract ObjectStorage newStorage();

    /** A prefix no other test uses in that storage. */
    protected abstract String newPrefix();

    @BeforeEach
    void openStorage() {
        storage = newStorage();
        prefix = newPrefix();
    }

    @AfterEach
    void closeStorage() {
        closeWals();
        storage.close();
    }

    /** Whether the WAL seals at once when no PUT is in flight ({@link ObjectWalOptions#earlyFlush()}). */
    protected boolean earlyFlush() {
        return ObjectWalOptions.DEFAULT_EARLY_FLUSH;
    }

    @Override
    protected WriteAheadLog open() {
        ObjectWalOptions options = ObjectWalOptions.builder(prefix).flushBytes(64 * 1024)
                .flushIntervalNanos(TimeUnit.MILLISECONDS.toNanos(2)).capacityBytes(4L << 20).maxBufferedBytes(1L << 20)
                .earlyFlush(earlyFlush()).build();
        Cuttable view = new Cuttable(storage);
        WriteAheadLog wal = ObjectStoreWal.open(view, options);
        views.put(wal, view);
        return wal;
    }

    @Override
    protected Fencing fencing() {
        return Fencing.NODE_EPOCH;
    }

    @Override
    protected void crash(WriteAheadLog wal) {
        views.get(wal).cut = true;
    }

    /** A view of the test's storage that a crash cuts off: writes fail from then on; close leaves the storage open. */
    private static final class Cuttable extends ForwardingObjectStorage {
        volatile boolean cut;

        Cuttable(ObjectStorage delegate) {
            super(delegate);
        }

        private <T> CompletableFuture<T> refused(Operation op, String key) {
            return CompletableFuture.failedFuture(new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, op,
                    key, 0, "crashed: never sent", null));
        }

        @Override
        public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
            if (cut) {
                data.release();
                return refused(Operation.PUT, key);
            }
            return delegate.put(key, data, condition);
        }

        @Override
        public CompletableFuture<Void> delete(Collection<String> keys) {
            return cut ? refused(Operation.DELETE, String.valueOf(keys)) : delegate.delete(keys);
        }

        @Override
        public void close() {
            // the test's storage outlives every WAL opened on it
        }
    }
}
