package dev.strata.kafka.migrate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * Reads one partition's entry of a Kafka offset checkpoint file, such as the log directory's
 * {@code log-start-offset-checkpoint} that Kafka's LogManager writes (Kafka's
 * {@code OffsetCheckpointFile}): a version line ({@value #VERSION}), a count line, then one
 * {@code topic partition offset} line per partition.
 *
 * <p>Stateless; thread-safe.
 */
final class OffsetCheckpoint {
    private static final int VERSION = 0;

    private OffsetCheckpoint() {
    }

    /**
     * @return the offset recorded for {@code topic}/{@code partition}, or empty if the file does not
     *     exist or has no entry for it
     * @throws MigrationException if the file exists but is not a version-0 offset checkpoint
     */
    static OptionalLong read(Path file, String topic, int partition) {
        if (!Files.exists(file)) {
            return OptionalLong.empty();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new MigrationException("cannot read the offset checkpoint " + file, e);
        }
        try {
            if (lines.size() < 2 || Integer.parseInt(lines.get(0).trim()) != VERSION) {
                throw new MigrationException("not a version " + VERSION + " offset checkpoint: " + file);
            }
            int count = Integer.parseInt(lines.get(1).trim());
            if (lines.size() < 2 + count) {
                throw new MigrationException("offset checkpoint " + file + " announces " + count + " entries but has "
                        + (lines.size() - 2));
            }
            for (int i = 2; i < 2 + count; i++) {
                String[] fields = lines.get(i).trim().split(" ");
                if (fields.length != 3) {
                    throw new MigrationException("malformed line " + (i + 1) + " of offset checkpoint " + file + ": "
                            + lines.get(i));
                }
                if (fields[0].equals(topic) && Integer.parseInt(fields[1]) == partition) {
                    return OptionalLong.of(Long.parseLong(fields[2]));
                }
            }
            return OptionalLong.empty();
        } catch (NumberFormatException e) {
            throw new MigrationException("malformed offset checkpoint " + file + ": " + e.getMessage(), e);
        }
    }
}
