package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.WrappersForwardEveryOperationTest;
import org.junit.jupiter.api.Test;

/** The engine's storage wrapper reaches the store underneath with every operation. */
class OpenDeadlineStorageTest {
    @Test
    void forwardsEveryOperation() {
        assertThat(WrappersForwardEveryOperationTest.operationsNotImplementedBy(OpenDeadlineStorage.class)).isEmpty();
    }
}
