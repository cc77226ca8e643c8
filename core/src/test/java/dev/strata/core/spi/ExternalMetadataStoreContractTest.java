package dev.strata.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.metadata.AbstractMetadataStore;
import dev.strata.core.metadata.MetadataChange;
import dev.strata.core.metadata.MetadataState;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.MetadataStoreContractTest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 22: an implementation of the {@link MetadataStore} SPI outside {@code dev.strata.core.metadata},
 * as a broker would write one, reuses {@link AbstractMetadataStore}'s group commit and runs the same
 * contract suite as the built-in stores. Before, both were package-private: this class did not compile.
 */
class ExternalMetadataStoreContractTest extends MetadataStoreContractTest {

    /** Keeps every persisted batch in a list: the smallest durable-looking log. Thread-safe. */
    static final class ListLogMetadataStore extends AbstractMetadataStore {
        private final ExecutorService writer;
        private final List<List<MetadataChange>> log;

        private ListLogMetadataStore(ExecutorService writer) {
            super(new MetadataState(), writer);
            this.writer = writer;
            this.log = new ArrayList<>();
        }

        static ListLogMetadataStore open() {
            return new ListLogMetadataStore(Executors.newSingleThreadExecutor());
        }

        @Override
        protected boolean persist(List<MetadataChange> changes, long version) {
            synchronized (log) {
                log.add(List.copyOf(changes));
            }
            return true;
        }

        int entries() {
            synchronized (log) {
                return log.size();
            }
        }

        @Override
        public void close() {
            markClosed();
            writer.shutdown();
            try {
                writer.awaitTermination(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            failQueued();
        }
    }

    @Override
    protected MetadataStore newStore() {
        return ListLogMetadataStore.open();
    }

    @Test
    void everyChangeGoesThroughTheSubclassLog() {
        ListLogMetadataStore own = (ListLogMetadataStore) store;
        int before = own.entries(); // the node registration of the suite's setup
        own.createStream(0).join();
        assertThat(before).isPositive();
        assertThat(own.entries()).isEqualTo(before + 1);
    }
}
