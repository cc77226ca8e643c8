package dev.strata.core.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StreamLabels;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ManifestCodecTest {

    private static final String KEY = "manifest/log/00000000000000000007";

    private static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    /** Pins the log entry layout documented in {@link ManifestDescriptor}, field by field: two changes in one entry. */
    @Test
    void groupCommittedEntryHasTheDocumentedLayout() {
        byte[] actual = ManifestCodec.encodeLog(7, 0x1122334455667788L, 3, List.of(
                new MetadataChange.TrimStream(2, 42, 5, 1000),
                new MetadataChange.CreateStream(2, 43, 6)));

        ByteBuffer body = ByteBuffer.allocate(8 + 8 + 4 + (1 + 8 * 4) + (1 + 8 * 3));
        body.putLong(0x1122334455667788L).putLong(3).putInt(2)
                .put((byte) 4).putLong(2).putLong(42).putLong(5).putLong(1000)
                .put((byte) 2).putLong(2).putLong(43).putLong(6);
        assertThat(HexFormat.of().formatHex(actual)).isEqualTo(HexFormat.of().formatHex(framed(3, body.array())));
    }

    /** A format 2 entry (one change, no count), as stores written before group commit hold, still decodes. */
    @Test
    void formatTwoEntryWithOneChangeIsStillRead() {
        ByteBuffer body = ByteBuffer.allocate(8 + 8 + 1 + 8 * 4);
        body.putLong(0x1122334455667788L).putLong(3).put((byte) 4).putLong(2).putLong(42).putLong(5).putLong(1000);

        ManifestCodec.LogEntry e = ManifestCodec.decodeLog(KEY, 7, ByteBuffer.wrap(framed(2, body.array())));

        assertThat(e.changes()).containsExactly(new MetadataChange.TrimStream(2, 42, 5, 1000));
        assertThat(e.writerId()).isEqualTo(0x1122334455667788L);
        assertThat(e.writerSequence()).isEqualTo(3);
    }

    @Test
    void unknownFormatIsRefused() {
        byte[] b = ByteBuffer.allocate(17).putLong(1).putLong(1).put((byte) 1).array();
        assertThatThrownBy(() -> ManifestCodec.decodeLog(KEY, 7, ByteBuffer.wrap(framed(6, b))))
                .isInstanceOf(dev.strata.api.UnsupportedFormatVersionException.class)
                .hasMessageContaining("manifest format version not supported").hasMessageContaining("version=6")
                .hasMessageContaining("supported=2-5");
    }

    /** Labels make the file format 4, with the documented layout; without labels it stays 3 (rollback). */
    @Test
    void aLabeledCreateIsFormatFourWithTheDocumentedLayout() {
        StreamLabels labels = new StreamLabels(java.util.Optional.of("acme"), java.util.Map.of("line", "p7", "a", ""));
        byte[] actual = ManifestCodec.encodeLog(7, 5, 3, List.of(new MetadataChange.CreateStream(2, 43, 6, labels)));

        ByteBuffer body = ByteBuffer.allocate(1024);
        body.putLong(5).putLong(3).putInt(1).put((byte) 9).putLong(2).putLong(43).putLong(6);
        body.putShort((short) 4).put("acme".getBytes(StandardCharsets.UTF_8)).put((byte) 2);
        body.putShort((short) 1).put("a".getBytes(StandardCharsets.UTF_8)).putShort((short) 0); // tags sorted by key
        body.putShort((short) 4).put("line".getBytes(StandardCharsets.UTF_8)).putShort((short) 2)
                .put("p7".getBytes(StandardCharsets.UTF_8));
        byte[] expected = Arrays.copyOf(body.array(), body.position());
        assertThat(HexFormat.of().formatHex(actual)).isEqualTo(HexFormat.of().formatHex(framed(4, expected)));
        assertThat(ManifestCodec.decodeLog(KEY, 7, ByteBuffer.wrap(actual)).changes())
                .containsExactly(new MetadataChange.CreateStream(2, 43, 6, labels));

        byte[] plain = ManifestCodec.encodeLog(7, 5, 3, List.of(new MetadataChange.CreateStream(2, 43, 6)));
        assertThat(ByteBuffer.wrap(plain).getShort(4)).as("no labels: format 3").isEqualTo((short) 3);
    }

    @Test
    void aSnapshotWithLabeledStreamsIsFormatFourAndRoundTrips() {
        MetadataState s = new MetadataState();
        s.apply(new MetadataChange.RegisterNode(1));
        s.apply(new MetadataChange.CreateStream(1, 1, 0));
        byte[] unlabeled = ManifestCodec.encodeSnapshot(s);
        assertThat(ByteBuffer.wrap(unlabeled).getShort(4)).as("no labels: format 3").isEqualTo((short) 3);

        s.apply(new MetadataChange.CreateStream(1, 2, 5, new StreamLabels(java.util.Optional.of("globex"), java.util.Map.of())));
        s.apply(new MetadataChange.CreateStream(1, 3, 0, new StreamLabels(java.util.Optional.empty(), java.util.Map.of("k", "v"))));
        s.apply(new MetadataChange.OpenStream(1, 2, 6, -1)); // an open keeps the labels
        byte[] labeled = ManifestCodec.encodeSnapshot(s);
        assertThat(ByteBuffer.wrap(labeled).getShort(4)).isEqualTo((short) 4);
        MetadataState back = ManifestCodec.decodeSnapshot("snap", s.version(), ByteBuffer.wrap(labeled));
        assertThat(back.streams()).containsExactlyElementsOf(s.streams());
        assertThat(back.stream(2).orElseThrow().labels().tenant()).contains("globex");
        assertThat(back.stream(2).orElseThrow().epoch()).isEqualTo(6);
        assertThat(back.stream(1).orElseThrow().labels()).isEqualTo(StreamLabels.NONE);
    }

    /**
     * An encrypted stream's create and an encrypting open make the file format 5, with the documented
     * layout; a snapshot with an encrypted stream too; without them the format stays what it was.
     */
    @Test
    void encryptedStreamsAreFormatFiveWithTheDocumentedLayoutAndRoundTrip() {
        StreamLabels acme = new StreamLabels(java.util.Optional.of("acme"), java.util.Map.of());
        MetadataChange.CreateStream create = new MetadataChange.CreateStream(2, 43, 6, acme, true);
        MetadataChange.OpenStream open = new MetadataChange.OpenStream(2, 44, 1, -1, 1000);
        byte[] actual = ManifestCodec.encodeLog(7, 5, 3, List.of(create, open));

        ByteBuffer body = ByteBuffer.allocate(1024);
        body.putLong(5).putLong(3).putInt(2);
        body.put((byte) 10).putLong(2).putLong(43).putLong(6).putShort((short) 4)
                .put("acme".getBytes(StandardCharsets.UTF_8)).put((byte) 0);
        body.put((byte) 11).putLong(2).putLong(44).putLong(1).putLong(-1).putLong(1000);
        byte[] expected = Arrays.copyOf(body.array(), body.position());
        assertThat(HexFormat.of().formatHex(actual)).isEqualTo(HexFormat.of().formatHex(framed(5, expected)));
        assertThat(ManifestCodec.decodeLog(KEY, 7, ByteBuffer.wrap(actual)).changes()).containsExactly(create, open);
        byte[] plainOpen = ManifestCodec.encodeLog(7, 5, 3, List.of(new MetadataChange.OpenStream(2, 44, 1, -1)));
        assertThat(ByteBuffer.wrap(plainOpen).getShort(4)).as("an open that encrypts nothing: format 3").isEqualTo((short) 3);

        MetadataState s = new MetadataState();
        s.apply(new MetadataChange.RegisterNode(1));
        s.apply(new MetadataChange.CreateStream(1, 1, 0, acme, true));
        s.apply(new MetadataChange.CreateStream(1, 2, 0, acme));
        s.apply(new MetadataChange.CreateStream(1, 3, 0));
        s.apply(new MetadataChange.CommitObjects(1, List.of(new ObjectMetadata("k1", 10, ObjectType.STREAM_SET,
                List.of(new StreamRange(2, 0, 40, 100)), 0)), 512));
        assertThat(ByteBuffer.wrap(ManifestCodec.encodeSnapshot(s)).getShort(4)).isEqualTo((short) 5);
        s.apply(new MetadataChange.OpenStream(1, 2, 1, -1, 7)); // below the committed end: encrypted from there
        s.apply(new MetadataChange.OpenStream(1, 2, 2, -1, 100)); // set once: an open never moves it
        s.apply(new MetadataChange.OpenStream(1, 1, 1, -1)); // nor clears it
        s.apply(new MetadataChange.TrimStream(1, 2, 2, 5));
        assertThat(s.stream(1).orElseThrow().encryptedFromOffset()).isZero();
        assertThat(s.stream(2).orElseThrow().encryptedFromOffset()).isEqualTo(40);
        assertThat(s.stream(3).orElseThrow().isEncrypted()).isFalse();
        MetadataState back = ManifestCodec.decodeSnapshot("snap", s.version(), ByteBuffer.wrap(ManifestCodec.encodeSnapshot(s)));
        assertThat(back.streams()).containsExactlyElementsOf(s.streams());
        assertThat(back.stream(3).orElseThrow().encryptedFromOffset()).isEqualTo(StreamMetadata.NOT_ENCRYPTED);
        assertThatThrownBy(() -> new MetadataChange.CreateStream(1, 4, 0, StreamLabels.NONE, true))
                .as("an encrypted stream has a tenant").isInstanceOf(IllegalArgumentException.class);

        // objects that name data keys (a store with encryption): format 5; unknown (null) and none (empty) stay apart
        ObjectMetadata named = new ObjectMetadata("k2", 10, ObjectType.STREAM, List.of(new StreamRange(1, 0, 4, 10)), 0,
                java.util.Set.of(-5L, 7L));
        ObjectMetadata none = new ObjectMetadata("k3", 10, ObjectType.STREAM, List.of(new StreamRange(3, 0, 4, 10)), 0,
                java.util.Set.of());
        ObjectMetadata unknown = new ObjectMetadata("k4", 10, ObjectType.STREAM, List.of(new StreamRange(2, 40, 44, 10)), 0);
        MetadataChange.CommitObjects commit = new MetadataChange.CommitObjects(1, List.of(named, none, unknown), 600);
        byte[] log = ManifestCodec.encodeLog(7, 5, 3, List.of(commit));
        assertThat(ByteBuffer.wrap(log).getShort(4)).isEqualTo((short) 5);
        assertThat(ManifestCodec.decodeLog(KEY, 7, ByteBuffer.wrap(log)).changes()).containsExactly(commit);
        byte[] unknownOnly = ManifestCodec.encodeLog(7, 5, 3, List.of(new MetadataChange.CommitObjects(1, List.of(unknown), 600)));
        assertThat(ByteBuffer.wrap(unknownOnly).getShort(4)).as("a store without encryption: unchanged").isEqualTo((short) 3);
        s.apply(commit);
        MetadataState withObjects = ManifestCodec.decodeSnapshot("snap", s.version(), ByteBuffer.wrap(ManifestCodec.encodeSnapshot(s)));
        assertThat(withObjects.objects()).containsExactlyInAnyOrderElementsOf(s.objects());
        assertThat(withObjects.objects()).filteredOn(o -> o.key().equals("k4")).singleElement()
                .satisfies(o -> assertThat(o.dataKeyIds()).as("unknown stays unknown").isNull());
    }

    /** A log file at version 7 in the documented frame around {@code body}. */
    private static byte[] framed(int format, byte[] body) {
        ByteBuffer expected = ByteBuffer.allocate(28 + body.length);
        expected.putInt(0x534D414E).putShort((short) format).put((byte) 1).put((byte) 0).putLong(7).putInt(body.length)
                .putInt(crc(body, 0, body.length));
        expected.putInt(crc(expected.array(), 0, 24));
        expected.put(body);
        return expected.array();
    }

    @Test
    void everyChangeTypeRoundTrips() {
        List<MetadataChange> changes = List.of(
                new MetadataChange.RegisterNode(9),
                new MetadataChange.CreateStream(9, 1, 3),
                new MetadataChange.OpenStream(9, 1, 4, 17),
                new MetadataChange.TrimStream(9, 1, 4, 77),
                new MetadataChange.DeleteStream(9, 1, 4),
                new MetadataChange.CommitObjects(9, List.of(
                        new ObjectMetadata("ab/sso-1", 12345, ObjectType.STREAM_SET,
                                List.of(new StreamRange(1, 0, 10, 100), new StreamRange(2, 5, 6, 100)), 1_700_000_000_000L),
                        new ObjectMetadata("cd/so-2", 999, ObjectType.STREAM, List.of(new StreamRange(3, 100, 200, 100)), 7)), 4096),
                new MetadataChange.ReplaceObjects(9, List.of("ab/sso-1", "cd/so-2"), List.of(
                        new ObjectMetadata("ef/so-3", 4321, ObjectType.STREAM, List.of(new StreamRange(1, 2, 10, 80)), 5))),
                new MetadataChange.ReplaceObjects(9, List.of("gh/so-4"), List.of()),
                new MetadataChange.DeleteOrphans(9, List.of("ij/sso-5", "kl/so-6")));
        long version = 1;
        for (MetadataChange c : changes) {
            byte[] bytes = ManifestCodec.encodeLog(version, 1, version, List.of(c));
            ManifestCodec.LogEntry e = ManifestCodec.decodeLog(KEY, version, ByteBuffer.wrap(bytes));
            assertThat(e.changes()).containsExactly(c);
            assertThat(e.writerSequence()).isEqualTo(version);
            version++;
        }
        ManifestCodec.LogEntry all = ManifestCodec.decodeLog(KEY, version,
                ByteBuffer.wrap(ManifestCodec.encodeLog(version, 1, version, changes)));
        assertThat(all.changes()).containsExactlyElementsOf(changes);
    }

    @Test
    void snapshotRoundTripsTheWholeState() {
        MetadataState s = new MetadataState();
        s.apply(new MetadataChange.RegisterNode(1));
        s.apply(new MetadataChange.CreateStream(1, 1, 0));
        s.apply(new MetadataChange.CreateStream(1, 2, 5));
        s.apply(new MetadataChange.CommitObjects(1, List.of(new ObjectMetadata("k1", 10, ObjectType.STREAM_SET,
                List.of(new StreamRange(1, 0, 4, 100), new StreamRange(2, 0, 2, 100)), 0)), 512));
        s.apply(new MetadataChange.TrimStream(1, 1, 0, 2));
        s.apply(new MetadataChange.DeleteStream(1, 2, 5));

        MetadataState back = ManifestCodec.decodeSnapshot("snap", s.version(),
                ByteBuffer.wrap(ManifestCodec.encodeSnapshot(s)));
        assertThat(back.version()).isEqualTo(s.version());
        assertThat(back.nodeEpoch()).isEqualTo(1);
        assertThat(back.nextStreamId()).isEqualTo(3);
        assertThat(back.walTrimPosition()).isEqualTo(512);
        assertThat(back.streams()).containsExactlyElementsOf(s.streams());
        assertThat(back.objects()).containsExactlyElementsOf(s.objects());
        assertThat(back.objectsCovering(1, 0, 10)).hasSize(1);
        assertThat(back.objectsCovering(2, 0, 10)).isEmpty();
    }

    @Test
    void entryStoredUnderAnotherVersionIsRejected() {
        byte[] bytes = ManifestCodec.encodeLog(7, 1, 1, List.of(new MetadataChange.RegisterNode(1)));
        assertThatThrownBy(() -> ManifestCodec.decodeLog(KEY, 8, ByteBuffer.wrap(bytes)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("version=7 expected=8");
    }

    @Provide
    Arbitrary<List<MetadataChange>> entries() {
        return changes().list().ofMinSize(1).ofMaxSize(4);
    }

    private static Arbitrary<StreamLabels> labels() {
        Arbitrary<String> names = Arbitraries.strings().withCharRange('a', 'z').withChars('.', '-', '_', '0')
                .ofMinLength(1).ofMaxLength(StreamLabels.MAX_NAME_LENGTH);
        Arbitrary<String> values = Arbitraries.strings().withCharRange('\u0020', '\u07ff').ofMaxLength(100); // 1-2 bytes each in UTF-8
        return Combinators.combine(names.optional(), Arbitraries.maps(names, values).ofMaxSize(StreamLabels.MAX_TAGS))
                .as(StreamLabels::new);
    }

    @Provide
    Arbitrary<MetadataChange> changes() {
        Arbitrary<Long> ids = Arbitraries.longs().between(1, 1 << 20);
        Arbitrary<StreamRange> range = Combinators.combine(ids, Arbitraries.longs().between(0, 1L << 40),
                Arbitraries.longs().between(1, 1 << 20)).as((id, start, len) -> new StreamRange(id, start, start + len, 100));
        Arbitrary<String> keys = Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(40);
        Arbitrary<ObjectMetadata> object = Combinators.combine(keys,
                Arbitraries.longs().between(0, 1L << 32), range)
                .as((k, size, r) -> new ObjectMetadata(k, size, ObjectType.STREAM, List.of(r), size * 3));
        return Arbitraries.oneOf(
                ids.map(MetadataChange.RegisterNode::new),
                Combinators.combine(ids, ids, ids).as(MetadataChange.CreateStream::new),
                Combinators.combine(ids, ids, ids, labels()).as(MetadataChange.CreateStream::new),
                Combinators.combine(ids, ids, ids, Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(8))
                        .as((n, id, e, t) -> new MetadataChange.CreateStream(n, id, e,
                                new StreamLabels(java.util.Optional.of(t), java.util.Map.of()), true)),
                Combinators.combine(ids, ids, ids, ids).as((n, id, e, from) -> new MetadataChange.OpenStream(n, id, e, -1, from)),
                Combinators.combine(ids, ids, ids, ids).as(MetadataChange.TrimStream::new),
                Combinators.combine(ids, object.list().ofMaxSize(5), ids).as(MetadataChange.CommitObjects::new),
                Combinators.combine(ids, keys.list().ofMaxSize(5), object.list().ofMaxSize(3)).as(MetadataChange.ReplaceObjects::new),
                Combinators.combine(ids, keys.list().ofMaxSize(5)).as(MetadataChange.DeleteOrphans::new));
    }

    @Property(tries = 200)
    void entriesRoundTrip(@ForAll("entries") List<MetadataChange> entry) {
        byte[] bytes = ManifestCodec.encodeLog(3, 1, 1, entry);
        assertThat(ManifestCodec.decodeLog(KEY, 3, ByteBuffer.wrap(bytes)).changes()).containsExactlyElementsOf(entry);
    }

    /** Damaged bytes never decode into different changes: either the same changes or CorruptDataException. */
    @Property(tries = 300)
    void flippedByteGivesCorruptDataOrTheSameChanges(@ForAll("entries") List<MetadataChange> entry,
            @ForAll @IntRange(min = 0, max = 10_000) int where, @ForAll @IntRange(min = 1, max = 255) int xor) {
        byte[] bytes = ManifestCodec.encodeLog(3, 1, 1, entry);
        bytes[where % bytes.length] ^= (byte) xor;
        try {
            assertThat(ManifestCodec.decodeLog(KEY, 3, ByteBuffer.wrap(bytes)).changes()).containsExactlyElementsOf(entry);
        } catch (CorruptDataException expected) {
            // detected
        }
    }

    @Property(tries = 200)
    void truncatedEntryGivesCorruptData(@ForAll("entries") List<MetadataChange> entry, @ForAll @IntRange(min = 0, max = 10_000) int cut) {
        byte[] bytes = ManifestCodec.encodeLog(3, 1, 1, entry);
        byte[] truncated = Arrays.copyOf(bytes, cut % bytes.length);
        assertThatThrownBy(() -> ManifestCodec.decodeLog(KEY, 3, ByteBuffer.wrap(truncated)))
                .isInstanceOf(CorruptDataException.class);
    }

    @Property(tries = 200)
    void randomBytesGiveCorruptData(@ForAll byte[] garbage) {
        assertThatThrownBy(() -> ManifestCodec.decodeLog(KEY, 3, ByteBuffer.wrap(garbage)))
                .isInstanceOf(CorruptDataException.class);
        assertThatThrownBy(() -> ManifestCodec.decodeSnapshot(KEY, 3, ByteBuffer.wrap(garbage)))
                .isInstanceOf(CorruptDataException.class);
    }
}
