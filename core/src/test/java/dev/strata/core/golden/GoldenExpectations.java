package dev.strata.core.golden;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a golden store holds, written beside it as {@value #FILE_NAME} by the generator: one line per
 * acknowledged batch and per trim and delete, so a reader of any later build can check every record.
 *
 * <pre>
 * batch STREAM BASE COUNT TIMESTAMP BYTES SHA256   an acknowledged batch: offsets [BASE, BASE+COUNT), payload hash
 * trim STREAM START                                the stream was trimmed to START (batches below it are gone)
 * deleted STREAM                                   the stream was deleted
 * </pre>
 * Lines starting with {@code #} are comments. Not thread-safe.
 */
final class GoldenExpectations {
    /** The file's name inside a golden store's directory. */
    static final String FILE_NAME = "expected-records.txt";

    /** One acknowledged batch. */
    record Batch(long base, int count, long timestamp, String sha256, int bytes) {
        long next() {
            return base + count;
        }
    }

    private final Map<Long, List<Batch>> batches = new TreeMap<>();
    private final Map<Long, Long> trims = new TreeMap<>();
    private final Set<Long> deleted = new TreeSet<>();

    void record(long stream, Batch batch) {
        batches.computeIfAbsent(stream, s -> new ArrayList<>()).add(batch);
    }

    void trim(long stream, long start) {
        trims.put(stream, start);
    }

    void delete(long stream) {
        deleted.add(stream);
    }

    /** Every stream that had a batch, deleted ones included. */
    Set<Long> streams() {
        return batches.keySet();
    }

    List<Batch> records(long stream) {
        return batches.getOrDefault(stream, List.of());
    }

    /** The stream's start offset: its trim, or 0. */
    long start(long stream) {
        return trims.getOrDefault(stream, 0L);
    }

    /** The end of the stream's acknowledged batches. */
    long next(long stream) {
        List<Batch> b = records(stream);
        return b.isEmpty() ? 0 : b.get(b.size() - 1).next();
    }

    boolean isDeleted(long stream) {
        return deleted.contains(stream);
    }

    /** The batches that must still be readable: those of live streams ending above the start. */
    List<Batch> readable(long stream) {
        if (isDeleted(stream)) {
            return List.of();
        }
        return records(stream).stream().filter(b -> b.next() > start(stream)).toList();
    }

    void write(Path file) throws IOException {
        StringBuilder out = new StringBuilder("# Strata golden store: what it holds (GoldenStoreWriter)\n"
                + "# batch STREAM BASE COUNT TIMESTAMP BYTES SHA256 | trim STREAM START | deleted STREAM\n");
        batches.forEach((stream, list) -> list.forEach(b -> out.append("batch ").append(stream).append(' ')
                .append(b.base()).append(' ').append(b.count()).append(' ').append(b.timestamp()).append(' ')
                .append(b.bytes()).append(' ').append(b.sha256()).append('\n')));
        trims.forEach((stream, start) -> out.append("trim ").append(stream).append(' ').append(start).append('\n'));
        deleted.forEach(stream -> out.append("deleted ").append(stream).append('\n'));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, out, StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static GoldenExpectations read(Path file) throws IOException {
        GoldenExpectations e = new GoldenExpectations();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.trim().split(" ");
            switch (f[0]) {
                case "batch" -> e.record(Long.parseLong(f[1]), new Batch(Long.parseLong(f[2]), Integer.parseInt(f[3]),
                        Long.parseLong(f[4]), f[6], Integer.parseInt(f[5])));
                case "trim" -> e.trim(Long.parseLong(f[1]), Long.parseLong(f[2]));
                case "deleted" -> e.delete(Long.parseLong(f[1]));
                default -> throw new IOException("unknown line in " + file + ": " + line);
            }
        }
        return e;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
