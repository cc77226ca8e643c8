package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link DirectFileWriter} on a real file with O_DIRECT (the temp directory's file system; skipped
 * where it refuses direct I/O): any sequence of writes, of any sizes and buffer kinds, gives a
 * file holding exactly their concatenation.
 */
class DirectFileWriterTest {
    private static final int ALIGN = 4096;

    /** One write: the sizes of its sources, all heap or all direct buffers. */
    record WriteSpec(List<Integer> sizes, boolean direct) {
    }

    @Provide
    Arbitrary<List<WriteSpec>> writes() {
        Arbitrary<Integer> size = Arbitraries.oneOf(Arbitraries.integers().between(0, 10),
                Arbitraries.integers().between(ALIGN - 3, ALIGN + 3), Arbitraries.integers().between(0, 5 * ALIGN),
                Arbitraries.integers().between(16 * ALIGN - 5, 16 * ALIGN + 5));
        Arbitrary<WriteSpec> write = net.jqwik.api.Combinators.combine(size.list().ofMinSize(0).ofMaxSize(5),
                Arbitraries.of(true, false)).as(WriteSpec::new);
        return write.list().ofMinSize(0).ofMaxSize(12);
    }

    @Property(tries = 60)
    void fileHoldsExactlyTheBytesWrittenInOrder(@ForAll("writes") List<WriteSpec> writes) throws IOException {
        Path dir = Files.createTempDirectory("strata-direct-writer");
        try {
            assumeThat(LocalObjectStorage.directWriteAlignment(dir)).as("O_DIRECT under %s", dir).isPositive();
            // a small staging buffer (4 blocks) so that writes span several staging fills
            DirectFileWriter.Staging staging = new DirectFileWriter.Staging(4 * ALIGN, ALIGN, 2);
            Path file = dir.resolve("f");
            DirectFileWriter writer = DirectFileWriter.create(file, ALIGN, staging);
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            Random random = new Random(writes.hashCode());
            try {
                for (WriteSpec w : writes) {
                    ByteBuffer[] sources = new ByteBuffer[w.sizes().size()];
                    for (int i = 0; i < sources.length; i++) {
                        byte[] bytes = new byte[w.sizes().get(i)];
                        random.nextBytes(bytes);
                        expected.write(bytes);
                        // a source not starting at 0: the writer must use position, not index 0
                        ByteBuffer b = w.direct() ? ByteBuffer.allocateDirect(bytes.length + 3) : ByteBuffer.allocate(bytes.length + 3);
                        b.position(3);
                        b.put(bytes).position(3);
                        sources[i] = b;
                    }
                    writer.write(sources);
                    for (ByteBuffer b : sources) {
                        assertThat(b.position()).as("source position unchanged").isEqualTo(3);
                    }
                    assertThat(writer.length()).isEqualTo(expected.size());
                }
                writer.finish();
                writer.channel().force(true);
            } finally {
                writer.channel().close();
            }
            assertThat(Files.size(file)).isEqualTo(expected.size());
            assertThat(Files.readAllBytes(file)).isEqualTo(expected.toByteArray());
            assertThat(staging.retained()).as("buffers kept for reuse stay within the limit").isLessThanOrEqualTo(2);
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    void stagingRefusesAnAlignmentThatDoesNotDivideTheBuffer() {
        assertThatThrownBy(() -> new DirectFileWriter.Staging(ALIGN + 1, ALIGN, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DirectFileWriter.Staging(3 * 1000, 1000, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void stagingBuffersAreAlignedAndReused() {
        DirectFileWriter.Staging staging = new DirectFileWriter.Staging(2 * ALIGN, ALIGN, 1);
        ByteBuffer a = staging.take();
        ByteBuffer b = staging.take();
        assertThat(a.capacity()).isGreaterThanOrEqualTo(2 * ALIGN);
        assertThat(a.alignmentOffset(0, ALIGN)).isZero();
        assertThat(b.alignmentOffset(0, ALIGN)).isZero();
        staging.give(a);
        staging.give(b); // beyond the one kept: dropped
        assertThat(staging.retained()).isEqualTo(1);
        assertThat(staging.take()).isSameAs(a);
    }
}
