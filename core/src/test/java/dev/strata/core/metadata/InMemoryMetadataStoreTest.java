package dev.strata.core.metadata;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class InMemoryMetadataStoreTest extends MetadataStoreContractTest {

    @Override
    protected MetadataStore newStore() {
        return new InMemoryMetadataStore();
    }

    @Test
    void changesBeforeRegisteringANodeAreRejected() {
        try (InMemoryMetadataStore fresh = new InMemoryMetadataStore()) {
            assertThatThrownBy(() -> fresh.createStream(0)).isInstanceOf(IllegalStateException.class);
        }
    }
}
