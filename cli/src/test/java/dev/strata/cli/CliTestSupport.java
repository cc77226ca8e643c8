package dev.strata.cli;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Runs the CLI in-process and builds stores for it with {@code Strata.builder()}. */
final class CliTestSupport {

    private CliTestSupport() {
    }

    /** What one command line printed and returned. */
    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit=" + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result run(Object... args) {
        String[] a = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            a[i] = String.valueOf(args[i]);
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = StrataCli.run(a, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    /** Small limits; uploads only at close (or when asked), so the WAL holds what was appended. */
    static Strata.Builder builder(Path dataDir) {
        return Strata.builder()
                .dataDir(dataDir)
                .walCapacity(8L << 20)
                .logCacheBytes(8L << 20)
                .blockCacheBytes(4L << 20)
                .maxInFlightReadBytes(2L << 20)
                .uploadThresholdBytes(4L << 20)
                .uploadInterval(Duration.ofHours(1))
                .compactionInterval(Duration.ofHours(1))
                .maxBatchBytes(64 * 1024)
                .objectBlockBytes(1024);
    }

    /**
     * Appends {@code batches} batches ("s<stream>-<i>", 200 bytes of padding) to each of
     * {@code streams} new streams, one at a time (each durable before the next is sent); returns
     * the streams' ids.
     */
    static List<Long> fill(DurableStreamStore store, int streams, int batches) {
        List<Long> ids = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            Stream stream = store.createStream(StreamOptions.defaults()).join();
            ids.add(stream.id());
            for (int i = 0; i < batches; i++) {
                String text = "s" + s + "-" + i + "-" + "x".repeat(200);
                stream.append(RecordBatch.of(1, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)))).join();
            }
        }
        return ids;
    }

    /** A closed store: everything appended is uploaded and committed. */
    static List<Long> closedStore(Path dataDir, int streams, int batches) {
        try (DurableStreamStore store = builder(dataDir).build()) {
            return fill(store, streams, batches);
        }
    }

    /** Data object files under {@code objectsDir} (manifest files left out), sorted. */
    static List<Path> dataObjects(Path objectsDir) {
        try (java.util.stream.Stream<Path> files = Files.walk(objectsDir)) {
            return files.filter(Files::isRegularFile)
                    .filter(p -> !objectsDir.relativize(p).toString().startsWith("manifest"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String key(Path objectsDir, Path file) {
        return objectsDir.relativize(file).toString().replace('\\', '/');
    }

    static void flipByte(Path file, long position) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, position);
            b.put(0, (byte) (b.get(0) ^ 0x5A)).rewind();
            ch.write(b, position);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
