package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit trail: every kind of change reaches the listener once durable, with the node epoch,
 * stream, tenant and the actor the application passed in; a change that did not become durable
 * emits nothing; a failing listener never fails the change.
 */
class AuditTest {
    @TempDir
    Path dir;

    private final List<AuditEvent> events = new CopyOnWriteArrayList<>();

    private List<AuditEvent.Type> types() {
        return events.stream().map(AuditEvent::type).toList();
    }

    private AuditEvent last(AuditEvent.Type type) {
        return events.stream().filter(e -> e.type() == type).reduce((a, b) -> b).orElseThrow(
                () -> new AssertionError("no " + type + " event in " + types()));
    }

    @Test
    void everyStreamChangeIsReportedWithItsActorTenantAndNodeEpoch() {
        try (DurableStreamStore store = StoreFixtures.small(dir).auditListener(events::add).build()) {
            assertThat(types()).containsExactly(AuditEvent.Type.NODE_REGISTERED);
            assertThat(events.get(0).nodeEpoch()).isEqualTo(1);
            assertThat(events.get(0).details()).containsEntry("nodeEpoch", "1");

            Stream s = AuditActor.call("ops:alice", () -> store.createStream(StreamOptions.defaults().withTenant("acme"))).join();
            AuditEvent created = last(AuditEvent.Type.STREAM_CREATED);
            assertThat(created.streamId()).isEqualTo(s.id());
            assertThat(created.tenant()).contains("acme");
            assertThat(created.actor()).contains("ops:alice");
            assertThat(created.nodeEpoch()).isEqualTo(1);
            assertThat(created.details()).containsEntry("epoch", "0");

            s.append(RecordBatch.of(3, ByteBuffer.wrap(new byte[30]))).join();
            AuditActor.call("retention", () -> s.trim(2)).join();
            assertThat(last(AuditEvent.Type.STREAM_TRIMMED).details()).containsEntry("startOffset", "2");
            assertThat(last(AuditEvent.Type.STREAM_TRIMMED).actor()).contains("retention");

            Stream taker = AuditActor.call("broker-2", () -> store.openStream(s.id(), 5)).join();
            assertThat(last(AuditEvent.Type.STREAM_EPOCH_RAISED).details()).containsEntry("epoch", "5")
                    .containsEntry("previousEpoch", "0");
            AuditEvent fenced = last(AuditEvent.Type.STREAM_FENCED);
            assertThat(fenced.details()).containsEntry("fencedEpoch", "0").containsEntry("epoch", "5");
            assertThat(fenced.actor()).contains("broker-2");

            AuditActor.call("ops:bob", () -> {
                store.quotas().setTenantQuota("acme", Quota.unlimited().withCatchUpReadBytesPerSecond(1 << 20));
                return null;
            });
            AuditEvent quota = last(AuditEvent.Type.QUOTA_CHANGED);
            assertThat(quota.tenant()).contains("acme");
            assertThat(quota.actor()).contains("ops:bob");
            assertThat(quota.details()).containsEntry("scope", "tenant").containsEntry("catchUpReadBytesPerSecond", "1048576")
                    .containsEntry("appendBytesPerSecond", "unlimited");

            AuditActor.call("ops:alice", () -> store.deleteStream(taker.id(), 5)).join();
            AuditEvent deleted = last(AuditEvent.Type.STREAM_DELETED);
            assertThat(deleted.tenant()).contains("acme");
            assertThat(deleted.actor()).contains("ops:alice");

            Stream anonymous = store.createStream(StreamOptions.defaults()).join();
            assertThat(last(AuditEvent.Type.STREAM_CREATED).actor()).as("no actor given").isEmpty();
            assertThat(last(AuditEvent.Type.STREAM_CREATED).streamId()).isEqualTo(anonymous.id());
            assertThat(types()).containsExactly(AuditEvent.Type.NODE_REGISTERED, AuditEvent.Type.STREAM_CREATED,
                    AuditEvent.Type.STREAM_TRIMMED, AuditEvent.Type.STREAM_EPOCH_RAISED, AuditEvent.Type.STREAM_FENCED,
                    AuditEvent.Type.QUOTA_CHANGED, AuditEvent.Type.STREAM_DELETED, AuditEvent.Type.STREAM_CREATED);
        }
    }

    @Test
    void compactionsReplacementsAndGarbageDeletionsAreReported() {
        try (DurableStreamStore store = StoreFixtures.small(dir).auditListener(events::add)
                .garbageGracePeriod(Duration.ZERO).build()) {
            Stream a = store.createStream(StreamOptions.defaults()).join();
            Stream b = store.createStream(StreamOptions.defaults()).join();
            for (int i = 0; i < 4; i++) {
                a.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[100]))).join();
                b.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[100]))).join();
                store.flush().join(); // one stream-set object per round
            }
            store.compact().join(); // splits and merges: replaces the stream-set objects
            AuditEvent replaced = last(AuditEvent.Type.OBJECTS_REPLACED);
            assertThat(replaced.streamId()).isEqualTo(-1);
            assertThat(replaced.actor()).as("the store's own work").isEmpty();
            assertThat(Integer.parseInt(replaced.details().get("removed"))).isPositive();
            store.compact().join(); // the replaced objects' grace period (0) has ended
            AuditEvent garbage = last(AuditEvent.Type.GARBAGE_DELETED);
            assertThat(Integer.parseInt(garbage.details().get("deleted"))).isPositive();
            assertThat(garbage.details()).containsEntry("reason", "replaced");
            assertThat(replaced.details().get("removedKeys")).contains(garbage.details().get("keys").split(",")[0]);
        }
    }

    @Test
    void aChangeThatDidNotBecomeDurableEmitsNothing() {
        LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"));
        FaultInjectingObjectStorage storage = new FaultInjectingObjectStorage(local, 1);
        try (DurableStreamStore store = StoreFixtures.small(dir.resolve("data")).objectStorage(storage)
                .auditListener(events::add).build()) {
            int before = events.size();
            storage.failRate(Operation.PUT, 1.0, ObjectStorageException.Kind.PERMANENT); // the manifest commit fails
            assertThatThrownBy(() -> AuditActor.call("ops:alice", () -> store.createStream(StreamOptions.defaults())).join())
                    .isInstanceOf(CompletionException.class);
            assertThat(events).as("nothing was created, nothing reported").hasSize(before);
            storage.clear();
        } finally {
            local.close();
        }
    }

    @Test
    void aFailingListenerNeverFailsTheChange() {
        try (DurableStreamStore store = StoreFixtures.small(dir).auditListener(e -> {
            throw new IllegalStateException("listener down");
        }).build()) {
            Stream s = store.createStream(StreamOptions.defaults()).join();
            assertThat(s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[1]))).join().baseOffset()).isZero();
            store.deleteStream(s.id(), 0).join();
        }
    }

    @Test
    void theDefaultListenerWritesOneJsonLinePerEvent() {
        AuditEvent e = new AuditEvent(AuditEvent.Type.STREAM_CREATED, 1_750_000_000_000L, 3, 42, Optional.of("acme"),
                Optional.of("ops \"alice\"\n"), Map.of("epoch", "0", "b", "x\\y"));
        assertThat(Slf4jAuditListener.toJson(e)).isEqualTo("{\"type\":\"STREAM_CREATED\",\"timeMillis\":1750000000000,"
                + "\"nodeEpoch\":3,\"streamId\":42,\"tenant\":\"acme\",\"actor\":\"ops \\\"alice\\\"\\n\","
                + "\"details\":{\"b\":\"x\\\\y\",\"epoch\":\"0\"}}");
        AuditEvent node = new AuditEvent(AuditEvent.Type.NODE_REGISTERED, 5, 2, -1, Optional.empty(), Optional.empty(), Map.of());
        assertThat(Slf4jAuditListener.toJson(node)).isEqualTo("{\"type\":\"NODE_REGISTERED\",\"timeMillis\":5,\"nodeEpoch\":2,"
                + "\"details\":{}}");
    }
}
