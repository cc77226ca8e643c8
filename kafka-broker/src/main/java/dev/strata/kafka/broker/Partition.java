package dev.strata.kafka.broker;

import dev.strata.kafka.KafkaPartitionLog;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;

/**
 * One served partition: its {@link KafkaPartitionLog} and the fetches waiting for data on it.
 * Thread-safe: the log is, and the waiter set is concurrent.
 */
final class Partition {

    /** Told when a batch of this partition became durable. Must not block (runs on Strata's completion thread). */
    interface AppendListener {
        void onAppend();
    }

    private final TopicPartition topicPartition;
    private final KafkaPartitionLog log;
    private final Set<AppendListener> listeners = ConcurrentHashMap.newKeySet();

    Partition(TopicPartition topicPartition, KafkaPartitionLog log) {
        this.topicPartition = topicPartition;
        this.log = log;
    }

    TopicPartition topicPartition() {
        return topicPartition;
    }

    KafkaPartitionLog log() {
        return log;
    }

    void addListener(AppendListener listener) {
        listeners.add(listener);
    }

    void removeListener(AppendListener listener) {
        listeners.remove(listener);
    }

    /** Called after an append to this partition completed: wakes the waiting fetches. */
    void appended() {
        listeners.forEach(AppendListener::onAppend);
    }
}
