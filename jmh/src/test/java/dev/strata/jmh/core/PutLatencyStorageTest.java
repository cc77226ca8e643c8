package dev.strata.jmh.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PreconditionFailedException;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.WrappersForwardEveryOperationTest;
import dev.strata.objectstore.testing.InMemoryObjectStorage;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** The latency wrapper forwards every request at once and holds back only PUT acknowledgements. */
class PutLatencyStorageTest {
    private final InMemoryObjectStorage memory = new InMemoryObjectStorage();
    private final Queue<Runnable> pendingAcks = new ArrayDeque<>(); // the "latency": run by hand
    private final PutLatencyStorage storage = new PutLatencyStorage(memory, pendingAcks::add);

    @Test
    void forwardsEveryOperation() {
        assertThat(WrappersForwardEveryOperationTest.operationsNotImplementedBy(PutLatencyStorage.class)).isEmpty();
    }

    @Test
    void aPutReachesTheStoreAtOnceAndIsAcknowledgedOnlyAfterTheLatency() {
        CompletableFuture<ObjectInfo> put = storage.put("a/b", bytes("hello"), PutCondition.ifAbsent());

        assertThat(memory.head("a/b").join().size()).isEqualTo(5); // stored, visible
        assertThat(put).isNotDone(); // but not acknowledged
        assertThat(pendingAcks).hasSize(1);

        pendingAcks.remove().run();
        assertThat(put.join().size()).isEqualTo(5);
    }

    @Test
    void aFailedPutFailsAfterTheLatencyWithTheStoresOwnException() {
        storage.put("k", bytes("one"), PutCondition.ifAbsent());
        pendingAcks.remove().run();

        CompletableFuture<ObjectInfo> second = storage.put("k", bytes("two"), PutCondition.ifAbsent());
        assertThat(second).isNotDone();
        pendingAcks.remove().run();
        assertThatThrownBy(second::get).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(PreconditionFailedException.class); // unwrapped, as ObjectStorage requires
    }

    @Test
    void anUploadsCompletionIsAcknowledgedAfterTheLatencyAndOtherCallsAreNotDelayed() {
        ObjectUpload upload = storage.startUpload("up", PutCondition.none());
        upload.write(bytes("abc")).join(); // a part: not delayed
        CompletableFuture<ObjectInfo> done = upload.complete();
        assertThat(done).isNotDone();
        assertThat(pendingAcks).hasSize(1);
        pendingAcks.remove().run();
        assertThat(done.join().size()).isEqualTo(3);

        assertThat(storage.head("up").join().size()).isEqualTo(3); // reads answer at once
        assertThat(storage.list("").join()).extracting(ObjectInfo::key).containsExactly("up");
        assertThat(pendingAcks).isEmpty();
    }

    private static io.netty.buffer.ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }
}
