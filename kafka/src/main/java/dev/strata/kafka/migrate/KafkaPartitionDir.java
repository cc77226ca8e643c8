package dev.strata.kafka.migrate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.record.internal.FileLogInputStream.FileChannelRecordBatch;
import org.apache.kafka.common.record.internal.FileRecords;

/**
 * A Kafka partition directory ({@code <log.dir>/<topic>-<partition>}) read with Kafka's own
 * {@link FileRecords}, opened read-only: its segment files ({@code <20-digit base offset>.log}) in
 * offset order, their batches as stored, its log start offset and its log end offset. The directory
 * must not change while it is read: stop the Kafka broker (or take the partition offline) first.
 *
 * <p>What is read: only the {@code .log} files. Indexes ({@code .index}, {@code .timeindex},
 * {@code .txnindex}), producer snapshots ({@code .snapshot}) and the {@code leader-epoch-checkpoint}
 * are not (a Strata partition log rebuilds its own from the batches). The log start offset is
 * Kafka's rule at load: the larger of the partition's entry in the log directory's
 * {@code log-start-offset-checkpoint} and the first segment's base offset (or the value given to
 * {@link #withLogStartOffset}). A directory holding {@code .swap} or {@code .cleaned} files (a
 * compaction Kafka has not finished recovering) is refused.
 *
 * <p>Immutable; thread-safe (each {@link #forEachBatch} opens the files itself).
 */
public final class KafkaPartitionDir {
    private static final Pattern SEGMENT = Pattern.compile("(\\d{20})\\.log");
    /** Kafka's file name of the log directory's log start offsets. */
    public static final String LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint";

    /** Receives the batches of {@link #forEachBatch}. */
    @FunctionalInterface
    public interface BatchVisitor {
        /**
         * @param batch one stored batch (valid until the method returns: its file is closed after the segment)
         * @return whether to go on with the next batch
         */
        boolean visit(FileChannelRecordBatch batch) throws IOException;
    }

    private final Path dir;
    private final String topic;
    private final int partition;
    private final List<Long> segmentBases;
    private final long logStartOffset;

    private KafkaPartitionDir(Path dir, String topic, int partition, List<Long> segmentBases, long logStartOffset) {
        this.dir = dir;
        this.topic = topic;
        this.partition = partition;
        this.segmentBases = List.copyOf(segmentBases);
        this.logStartOffset = logStartOffset;
    }

    /**
     * Lists the segments of the partition directory {@code dir}, named {@code <topic>-<partition>}.
     *
     * @throws MigrationException if {@code dir} is not a readable partition directory with at least
     *     one segment, holds an unfinished compaction, or its log directory's checkpoint is malformed
     */
    public static KafkaPartitionDir open(Path dir) {
        String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
        int dash = name.lastIndexOf('-');
        int partition;
        try {
            partition = dash > 0 ? Integer.parseInt(name.substring(dash + 1)) : -1;
        } catch (NumberFormatException e) {
            partition = -1;
        }
        if (partition < 0) {
            throw new MigrationException("not a Kafka partition directory (expected <topic>-<partition>): " + dir);
        }
        String topic = name.substring(0, dash);
        List<Long> bases = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String file = f.getFileName().toString();
                if (file.endsWith(".swap") || file.endsWith(".cleaned")) {
                    throw new MigrationException("partition directory " + dir + " holds an unfinished compaction (" + file
                            + "): start and stop the Kafka broker once so that it recovers the directory");
                }
                Matcher m = SEGMENT.matcher(file);
                if (m.matches()) {
                    bases.add(Long.parseLong(m.group(1)));
                }
            }
        } catch (IOException e) {
            throw new MigrationException("cannot list the partition directory " + dir, e);
        }
        if (bases.isEmpty()) {
            throw new MigrationException("no segment (<20-digit offset>.log) in the partition directory " + dir);
        }
        bases.sort(null);
        Path parent = dir.toAbsolutePath().getParent();
        OptionalLong checkpointed = parent == null ? OptionalLong.empty()
                : OffsetCheckpoint.read(parent.resolve(LOG_START_OFFSET_CHECKPOINT), topic, partition);
        long start = Math.max(checkpointed.orElse(0), bases.get(0));
        return new KafkaPartitionDir(dir, topic, partition, bases, start);
    }

    /** The same directory with the log start offset {@code offset} instead of the one Kafka recorded. */
    public KafkaPartitionDir withLogStartOffset(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("log start offset must be >= 0, got " + offset);
        }
        return new KafkaPartitionDir(dir, topic, partition, segmentBases, offset);
    }

    public Path dir() {
        return dir;
    }

    public String topic() {
        return topic;
    }

    public int partition() {
        return partition;
    }

    /** The base offsets of the segments, ascending. */
    public List<Long> segmentBaseOffsets() {
        return segmentBases;
    }

    /** The first offset a consumer of the Kafka partition may read. */
    public long logStartOffset() {
        return logStartOffset;
    }

    /**
     * The Kafka partition's log end offset: the last batch's last offset + 1, or the last segment's
     * base offset if that is larger (an empty active segment, as after all data was deleted).
     *
     * @throws MigrationException if a segment cannot be read
     */
    public long logEndOffset() {
        int last = segmentBases.size() - 1;
        long[] end = {segmentBases.get(last)}; // batches of earlier segments are all below it
        readSegment(last, 0, b -> {
            end[0] = Math.max(end[0], b.lastOffset() + 1);
            return true;
        });
        return end[0];
    }

    /**
     * Hands every batch whose last offset is at or above {@code fromOffset} to {@code visitor}, in
     * offset order, until it returns false. A partial batch at the end of a segment (a Kafka crash
     * while writing) ends that segment, as Kafka's own reading does.
     *
     * @throws MigrationException if a segment cannot be read or a batch header is corrupt
     */
    public void forEachBatch(long fromOffset, BatchVisitor visitor) {
        for (int i = 0; i < segmentBases.size(); i++) {
            if (i + 1 < segmentBases.size() && segmentBases.get(i + 1) <= fromOffset) {
                continue; // every batch of segment i is below its successor's base offset
            }
            if (!readSegment(i, fromOffset, visitor)) {
                return;
            }
        }
    }

    private boolean readSegment(int index, long fromOffset, BatchVisitor visitor) {
        Path file = dir.resolve(String.format("%020d.log", segmentBases.get(index)));
        try (FileRecords records = FileRecords.open(file.toFile(), false)) {
            for (FileChannelRecordBatch batch : records.batches()) {
                if (batch.lastOffset() >= fromOffset && !visitor.visit(batch)) {
                    return false;
                }
            }
            return true;
        } catch (IOException | UncheckedIOException | KafkaException e) {
            throw new MigrationException("cannot read segment " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "KafkaPartitionDir[" + dir + ", segments=" + segmentBases.size() + ", logStartOffset=" + logStartOffset + "]";
    }
}
