package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * LogCache lookups against a model that remembers every inserted batch. Random sequences of inserts,
 * fetches, trims, seals, uploads and admission checks; after each fetch:
 * <ul>
 *   <li>a hit returns exactly what the fetch semantics give on the model's batches (offsets, and the
 *       buffer content, which encodes where it came from);</li>
 *   <li>a miss happens only below the cached range, above the stream's end, or for an unknown stream;</li>
 *   <li>data not yet uploaded and not trimmed is never missing;</li>
 *   <li>the byte counters match the model.</li>
 * </ul>
 */
class LogCacheModelTest {
    enum Kind { INSERT, FETCH, TRIM, SEAL, UPLOAD, ROOM }

    record Op(Kind kind, int stream, int a, int b, int c) {
    }

    record Batch(long stream, long base, int count, int size) {
        long next() {
            return base + count;
        }
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(
                Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(6, Arbitraries.just(Kind.INSERT)),
                        net.jqwik.api.Tuple.of(6, Arbitraries.just(Kind.FETCH)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.TRIM)),
                        net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.SEAL)),
                        net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.UPLOAD)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.ROOM))),
                Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 1000),
                Arbitraries.integers().between(0, 1000),
                Arbitraries.integers().between(0, 1000)).as(Op::new);
        return op.list().ofMinSize(1).ofMaxSize(120);
    }

    @Property(tries = 300)
    void lookupsMatchModel(@ForAll("ops") List<Op> ops, @ForAll boolean slabs) {
        Map<Long, List<Batch>> model = new HashMap<>();
        Map<Long, Long> trimmed = new HashMap<>();
        Set<Batch> uploaded = new HashSet<>();
        List<SealedBlock> taken = new ArrayList<>();
        Map<Long, List<Batch>> takenBatches = new HashMap<>();
        long modelUsed = 0;
        long modelUnuploaded = 0;
        LogCache.Builder builder = LogCache.builder().capacityBytes(2000).blockSizeBytes(500);
        if (slabs) { // batches kept as slab positions, read through views
            builder.slabAllocator(TestBuffers.ALLOC);
        }
        try (LogCache cache = builder.build()) {
            for (Op op : ops) {
                long stream = op.stream();
                List<Batch> batches = model.computeIfAbsent(stream, s -> new ArrayList<>());
                long end = batches.isEmpty() ? 0 : batches.get(batches.size() - 1).next();
                switch (op.kind()) {
                    case INSERT -> {
                        int count = 1 + op.a() % 5;
                        int size = Long.BYTES + op.b() % 200;
                        Batch b = new Batch(stream, end, count, size);
                        batches.add(b);
                        ByteBuf data = cache.allocate(size);
                        data.writeLong(tag(b)).writeZero(size - Long.BYTES);
                        cache.insert(stream, end, count, size, data);
                        modelUnuploaded += size;
                    }
                    case FETCH -> {
                        long start = end == 0 ? 0 : op.a() % (end + 2);
                        long endOffset = start + op.b() % 30;
                        int maxBytes = op.c() % 600;
                        try (LogCacheFetch f = cache.fetch(stream, start, endOffset, maxBytes)) {
                            long first = cache.firstCachedOffset(stream);
                            if (f.isHit()) {
                                assertThat(describe(f.batches())).isEqualTo(describe(expected(batches, start,
                                        endOffset, maxBytes)));
                                for (CachedBatch cb : f.batches()) {
                                    assertThat(TestBuffers.tag(cb.data())).isEqualTo(
                                            tag(new Batch(stream, cb.baseOffset(), cb.count(), cb.sizeBytes())));
                                }
                            } else {
                                assertThat(start < first || first < 0 || start > end)
                                        .as("miss only outside the cached range: start=%s first=%s end=%s", start,
                                                first, end).isTrue();
                                Batch containing = batches.stream().filter(b -> b.base() <= start && start < b.next())
                                        .findFirst().orElse(null);
                                if (containing != null && !uploaded.contains(containing)
                                        && containing.next() > trimmed.getOrDefault(stream, 0L)) {
                                    throw new AssertionError("un-uploaded, untrimmed data missing: " + containing);
                                }
                            }
                        }
                    }
                    case TRIM -> {
                        long newStart = end == 0 ? 0 : op.a() % (end + 1);
                        trimmed.merge(stream, newStart, Math::max);
                        cache.trim(stream, newStart);
                    }
                    case SEAL -> {
                        for (SealedBlock sb : cache.sealForUpload()) {
                            taken.add(sb);
                            List<Batch> content = new ArrayList<>();
                            for (CachedBatch cb : sb.batches()) {
                                content.add(new Batch(cb.streamId(), cb.baseOffset(), cb.count(), cb.sizeBytes()));
                                assertThat(TestBuffers.tag(cb.data())).isEqualTo(tag(content.get(content.size() - 1)));
                            }
                            takenBatches.put(sb.id(), content);
                        }
                    }
                    case UPLOAD -> {
                        if (!taken.isEmpty()) {
                            SealedBlock sb = taken.remove(op.a() % taken.size());
                            cache.markUploaded(sb.id());
                            for (Batch b : takenBatches.remove(sb.id())) {
                                uploaded.add(b);
                                modelUnuploaded -= b.size();
                            }
                            sb.close();
                        }
                    }
                    case ROOM -> cache.hasRoomFor(op.a());
                }
                assertThat(cache.unuploadedBytes()).isEqualTo(modelUnuploaded);
                assertThat(cache.usedBytes()).isGreaterThanOrEqualTo(modelUnuploaded);
                if (cache.usedBytes() > cache.capacityBytes()) {
                    // Over the limit only if nothing evictable is left at the head.
                    assertThat(cache.hasRoomFor(0)).isFalse();
                }
            }
            taken.forEach(SealedBlock::close);
        }
    }

    private static long tag(Batch b) {
        return b.stream() * 1_000_000_007L + b.base() * 31 + b.count();
    }

    private static List<Batch> expected(List<Batch> batches, long start, long end, int maxBytes) {
        List<Batch> out = new ArrayList<>();
        long bytes = 0;
        for (Batch b : batches) {
            if (b.next() <= start) {
                continue;
            }
            if (b.base() >= end) {
                break;
            }
            if (!out.isEmpty() && bytes + b.size() > maxBytes) {
                break;
            }
            bytes += b.size();
            out.add(b);
        }
        return out;
    }

    private static List<String> describe(List<?> batches) {
        List<String> out = new ArrayList<>();
        for (Object o : batches) {
            if (o instanceof CachedBatch cb) {
                out.add(cb.baseOffset() + "+" + cb.count() + ":" + cb.sizeBytes());
            } else {
                Batch b = (Batch) o;
                out.add(b.base() + "+" + b.count() + ":" + b.size());
            }
        }
        return out;
    }
}
