package dev.strata.core.metadata;

import java.util.concurrent.Executor;

/**
 * Metadata held in memory only: for tests and for a broker that persists metadata elsewhere
 * through its own {@link MetadataStore}. Obeys the same rules as the manifest store
 * ({@link MetadataState}); nothing survives the process.
 *
 * <p>Changes run on the calling thread, one at a time (serialised by a lock), so returned futures
 * are already complete when the call returns (a change called while another thread is changing
 * the metadata waits for it and may be applied by it). Thread-safe.
 */
public final class InMemoryMetadataStore extends AbstractMetadataStore {

    public InMemoryMetadataStore() {
        super(new MetadataState(), new SerialDirectExecutor());
    }

    @Override
    protected boolean persist(java.util.List<MetadataChange> changes, long version) {
        return true; // nothing to write: the local state is the only copy
    }

    @Override
    public void close() {
        markClosed();
        failQueued();
    }

    /** Runs tasks on the calling thread, one at a time. */
    private static final class SerialDirectExecutor implements Executor {
        @Override
        public synchronized void execute(Runnable task) {
            task.run();
        }
    }
}
