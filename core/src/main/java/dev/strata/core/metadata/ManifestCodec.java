package dev.strata.core.metadata;

import static dev.strata.core.metadata.ManifestDescriptor.check;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StreamLabels;
import dev.strata.api.UnsupportedFormatVersionException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/** Encodes and decodes manifest files ({@link ManifestDescriptor}). Stateless, thread-safe. */
final class ManifestCodec {

    /** A decoded log entry: the change and who wrote it. */
    record LogEntry(long version, long writerId, long writerSequence, List<MetadataChange> changes) {
    }

    private ManifestCodec() {
    }

    static byte[] encodeLog(long version, long writerId, long writerSequence, List<MetadataChange> changes) {
        if (changes.isEmpty()) {
            throw new IllegalArgumentException("a log entry holds at least one change");
        }
        Writer w = new Writer();
        w.putLong(writerId);
        w.putLong(writerSequence);
        w.putInt(changes.size());
        boolean labeled = false;
        boolean encryption = false;
        for (MetadataChange change : changes) {
            labeled |= change instanceof MetadataChange.CreateStream c && !c.labels().isEmpty();
            encryption |= change instanceof MetadataChange.CreateStream c && c.encrypted()
                    || change instanceof MetadataChange.OpenStream o && o.encryptFrom() >= 0
                    || change instanceof MetadataChange.CommitObjects c && namesDataKeys(c.objects())
                    || change instanceof MetadataChange.ReplaceObjects r && namesDataKeys(r.added());
        }
        for (MetadataChange change : changes) {
            putChange(w, change, encryption);
        }
        return frame(ManifestDescriptor.KIND_LOG, version, w.toArray(), encryption ? ManifestDescriptor.FORMAT_ENCRYPTION
                : labeled ? ManifestDescriptor.FORMAT_LABELS : ManifestDescriptor.FORMAT_VERSION);
    }

    private static boolean namesDataKeys(List<ObjectMetadata> objects) {
        for (ObjectMetadata o : objects) {
            if (o.dataKeyIds() != null) {
                return true;
            }
        }
        return false;
    }

    /** {@code format5}: objects carry their data key ids. */
    private static void putChange(Writer w, MetadataChange change, boolean format5) {
        if (change instanceof MetadataChange.RegisterNode r) {
            w.putByte(ManifestDescriptor.CHANGE_REGISTER_NODE);
            w.putLong(r.nodeEpoch());
        } else if (change instanceof MetadataChange.CreateStream c) {
            w.putByte(c.encrypted() ? ManifestDescriptor.CHANGE_CREATE_ENCRYPTED_STREAM
                    : c.labels().isEmpty() ? ManifestDescriptor.CHANGE_CREATE_STREAM
                    : ManifestDescriptor.CHANGE_CREATE_LABELED_STREAM);
            w.putLong(c.nodeEpoch());
            w.putLong(c.streamId());
            w.putLong(c.epoch());
            if (!c.labels().isEmpty()) {
                putLabels(w, c.labels());
            }
        } else if (change instanceof MetadataChange.OpenStream o) {
            w.putByte(o.encryptFrom() >= 0 ? ManifestDescriptor.CHANGE_OPEN_ENCRYPTING_STREAM
                    : ManifestDescriptor.CHANGE_OPEN_STREAM);
            w.putLong(o.nodeEpoch());
            w.putLong(o.streamId());
            w.putLong(o.epoch());
            w.putLong(o.epochStartOffset());
            if (o.encryptFrom() >= 0) {
                w.putLong(o.encryptFrom());
            }
        } else if (change instanceof MetadataChange.TrimStream t) {
            w.putByte(ManifestDescriptor.CHANGE_TRIM_STREAM);
            w.putLong(t.nodeEpoch());
            w.putLong(t.streamId());
            w.putLong(t.epoch());
            w.putLong(t.newStartOffset());
        } else if (change instanceof MetadataChange.DeleteStream d) {
            w.putByte(ManifestDescriptor.CHANGE_DELETE_STREAM);
            w.putLong(d.nodeEpoch());
            w.putLong(d.streamId());
            w.putLong(d.epoch());
        } else if (change instanceof MetadataChange.CommitObjects c) {
            w.putByte(ManifestDescriptor.CHANGE_COMMIT_OBJECTS);
            w.putLong(c.nodeEpoch());
            w.putLong(c.walTrimPosition());
            w.putInt(c.objects().size());
            for (ObjectMetadata o : c.objects()) {
                putObject(w, o, format5);
            }
        } else if (change instanceof MetadataChange.ReplaceObjects r) {
            w.putByte(ManifestDescriptor.CHANGE_REPLACE_OBJECTS);
            w.putLong(r.nodeEpoch());
            w.putInt(r.removedKeys().size());
            for (String key : r.removedKeys()) {
                putKey(w, key);
            }
            w.putInt(r.added().size());
            for (ObjectMetadata o : r.added()) {
                putObject(w, o, format5);
            }
        } else if (change instanceof MetadataChange.DeleteOrphans d) {
            w.putByte(ManifestDescriptor.CHANGE_DELETE_ORPHANS);
            w.putLong(d.nodeEpoch());
            w.putInt(d.keys().size());
            for (String key : d.keys()) {
                putKey(w, key);
            }
        } else {
            throw new IllegalArgumentException("unknown change: " + change);
        }
    }

    static byte[] encodeSnapshot(MetadataState state) {
        Writer w = new Writer();
        w.putLong(state.nodeEpoch());
        w.putLong(state.nextStreamId());
        w.putLong(state.walTrimPosition());
        w.putInt(state.streams().size());
        boolean encryption = state.streams().stream().anyMatch(StreamMetadata::isEncrypted)
                || namesDataKeys(new ArrayList<>(state.objects()));
        boolean labeled = encryption || state.streams().stream().anyMatch(s -> !s.labels().isEmpty());
        for (StreamMetadata s : state.streams()) {
            w.putLong(s.streamId());
            w.putLong(s.epoch());
            w.putLong(s.startOffset());
            w.putLong(s.committedEndOffset());
            w.putLong(s.epochStartOffset());
            if (labeled) {
                putLabels(w, s.labels());
            }
            if (encryption) {
                w.putLong(s.encryptedFromOffset());
            }
        }
        w.putInt(state.objects().size());
        for (ObjectMetadata o : state.objects()) {
            putObject(w, o, encryption);
        }
        return frame(ManifestDescriptor.KIND_SNAPSHOT, state.version(), w.toArray(), encryption
                ? ManifestDescriptor.FORMAT_ENCRYPTION : labeled ? ManifestDescriptor.FORMAT_LABELS : ManifestDescriptor.FORMAT_VERSION);
    }

    static LogEntry decodeLog(String key, long expectedVersion, ByteBuffer file) {
        ByteBuffer body = unframe(key, ManifestDescriptor.KIND_LOG, expectedVersion, file);
        try {
            long writerId = body.getLong();
            long writerSequence = body.getLong();
            // format 2 entries hold one change and no count
            int count = formatOf(file) == ManifestDescriptor.FORMAT_SINGLE_CHANGE_LOG ? 1 : count(key, body, body.getInt());
            check(count > 0, key, "empty log entry");
            List<MetadataChange> changes = new ArrayList<>(count);
            boolean format5 = formatOf(file) == ManifestDescriptor.FORMAT_ENCRYPTION;
            for (int i = 0; i < count; i++) {
                changes.add(getChange(key, body, format5));
            }
            check(!body.hasRemaining(), key, "trailing bytes=" + body.remaining());
            return new LogEntry(expectedVersion, writerId, writerSequence, List.copyOf(changes));
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new CorruptDataException("corrupt manifest file: key=" + key + " " + e.getMessage(), e);
        }
    }

    private static MetadataChange getChange(String key, ByteBuffer body, boolean format5) {
        byte type = body.get();
        return switch (type) {
            case ManifestDescriptor.CHANGE_REGISTER_NODE -> new MetadataChange.RegisterNode(body.getLong());
            case ManifestDescriptor.CHANGE_CREATE_STREAM ->
                    new MetadataChange.CreateStream(body.getLong(), body.getLong(), body.getLong());
            case ManifestDescriptor.CHANGE_CREATE_LABELED_STREAM ->
                    new MetadataChange.CreateStream(body.getLong(), body.getLong(), body.getLong(), getLabels(key, body));
            case ManifestDescriptor.CHANGE_CREATE_ENCRYPTED_STREAM ->
                    new MetadataChange.CreateStream(body.getLong(), body.getLong(), body.getLong(), getLabels(key, body), true);
            case ManifestDescriptor.CHANGE_OPEN_STREAM ->
                    new MetadataChange.OpenStream(body.getLong(), body.getLong(), body.getLong(), body.getLong());
            case ManifestDescriptor.CHANGE_OPEN_ENCRYPTING_STREAM -> {
                MetadataChange.OpenStream open = new MetadataChange.OpenStream(body.getLong(), body.getLong(), body.getLong(),
                        body.getLong(), body.getLong());
                check(open.encryptFrom() >= 0, key, "encryptFrom=" + open.encryptFrom());
                yield open;
            }
            case ManifestDescriptor.CHANGE_TRIM_STREAM ->
                    new MetadataChange.TrimStream(body.getLong(), body.getLong(), body.getLong(), body.getLong());
            case ManifestDescriptor.CHANGE_DELETE_STREAM ->
                    new MetadataChange.DeleteStream(body.getLong(), body.getLong(), body.getLong());
            case ManifestDescriptor.CHANGE_COMMIT_OBJECTS -> {
                long nodeEpoch = body.getLong();
                long walTrim = body.getLong();
                int count = count(key, body, body.getInt());
                List<ObjectMetadata> objects = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    objects.add(getObject(key, body, format5));
                }
                yield new MetadataChange.CommitObjects(nodeEpoch, objects, walTrim);
            }
            case ManifestDescriptor.CHANGE_REPLACE_OBJECTS -> {
                long nodeEpoch = body.getLong();
                int removedCount = count(key, body, body.getInt());
                List<String> removed = new ArrayList<>(removedCount);
                for (int i = 0; i < removedCount; i++) {
                    removed.add(getKey(body));
                }
                int addedCount = count(key, body, body.getInt());
                List<ObjectMetadata> added = new ArrayList<>(addedCount);
                for (int i = 0; i < addedCount; i++) {
                    added.add(getObject(key, body, format5));
                }
                yield new MetadataChange.ReplaceObjects(nodeEpoch, removed, added);
            }
            case ManifestDescriptor.CHANGE_DELETE_ORPHANS -> {
                long nodeEpoch = body.getLong();
                int keyCount = count(key, body, body.getInt());
                List<String> keys = new ArrayList<>(keyCount);
                for (int i = 0; i < keyCount; i++) {
                    keys.add(getKey(body));
                }
                yield new MetadataChange.DeleteOrphans(nodeEpoch, keys);
            }
            default -> throw new CorruptDataException("corrupt manifest file: key=" + key + " unknown change type=" + type);
        };
    }

    /** The format version in a file's header (checked by {@link #unframe} before the body is read). */
    private static short formatOf(ByteBuffer file) {
        return file.getShort(file.position() + ManifestDescriptor.FORMAT_OFFSET);
    }

    static MetadataState decodeSnapshot(String key, long expectedVersion, ByteBuffer file) {
        ByteBuffer body = unframe(key, ManifestDescriptor.KIND_SNAPSHOT, expectedVersion, file);
        try {
            long nodeEpoch = body.getLong();
            long nextStreamId = body.getLong();
            long walTrim = body.getLong();
            int streamCount = count(key, body, body.getInt());
            short format = formatOf(file);
            boolean encryptionSnapshot = format == ManifestDescriptor.FORMAT_ENCRYPTION;
            boolean labeledSnapshot = encryptionSnapshot || format == ManifestDescriptor.FORMAT_LABELS;
            List<StreamMetadata> streams = new ArrayList<>(streamCount);
            for (int i = 0; i < streamCount; i++) {
                long id = body.getLong();
                long epoch = body.getLong();
                long start = body.getLong();
                long committedEnd = body.getLong();
                long epochStart = body.getLong();
                StreamLabels labels = labeledSnapshot ? getLabels(key, body) : StreamLabels.NONE;
                long encryptedFrom = encryptionSnapshot ? body.getLong() : StreamMetadata.NOT_ENCRYPTED;
                check(encryptedFrom >= StreamMetadata.NOT_ENCRYPTED, key, "encryptedFrom=" + encryptedFrom);
                streams.add(new StreamMetadata(id, epoch, start, committedEnd, epochStart, labels, encryptedFrom));
            }
            int objectCount = count(key, body, body.getInt());
            List<ObjectMetadata> objects = new ArrayList<>(objectCount);
            for (int i = 0; i < objectCount; i++) {
                objects.add(getObject(key, body, encryptionSnapshot));
            }
            check(!body.hasRemaining(), key, "trailing bytes=" + body.remaining());
            return MetadataState.restore(expectedVersion, nodeEpoch, nextStreamId, walTrim, streams, objects);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new CorruptDataException("corrupt manifest file: key=" + key + " " + e.getMessage(), e);
        }
    }

    private static void putKey(Writer w, String objectKey) {
        byte[] key = objectKey.getBytes(StandardCharsets.UTF_8);
        if (key.length > 0xFFFF) {
            throw new IllegalArgumentException("object key too long: " + key.length + " bytes");
        }
        w.putShort((short) key.length);
        w.putBytes(key);
    }

    private static String getKey(ByteBuffer body) {
        int keyLength = Short.toUnsignedInt(body.getShort());
        byte[] key = new byte[keyLength];
        body.get(key);
        return new String(key, StandardCharsets.UTF_8);
    }

    private static void putObject(Writer w, ObjectMetadata o, boolean format5) {
        putKey(w, o.key());
        w.putLong(o.sizeBytes());
        w.putByte((byte) o.type().ordinal());
        w.putLong(o.dataTimeMillis());
        w.putInt(o.ranges().size());
        for (StreamRange r : o.ranges()) {
            w.putLong(r.streamId());
            w.putLong(r.startOffset());
            w.putLong(r.endOffset());
            w.putLong(r.sizeBytes());
        }
        if (format5) {
            java.util.Set<Long> ids = o.dataKeyIds();
            w.putInt(ids == null ? -1 : ids.size()); // -1: unknown
            for (long id : ids == null ? java.util.Set.<Long>of() : ids) {
                w.putLong(id);
            }
        }
    }

    private static ObjectMetadata getObject(String fileKey, ByteBuffer body, boolean format5) {
        String key = getKey(body);
        long size = body.getLong();
        int type = body.get();
        check(type >= 0 && type < ObjectType.values().length, fileKey, "object type=" + type);
        long dataTime = body.getLong();
        int rangeCount = count(fileKey, body, body.getInt());
        List<StreamRange> ranges = new ArrayList<>(rangeCount);
        for (int i = 0; i < rangeCount; i++) {
            ranges.add(new StreamRange(body.getLong(), body.getLong(), body.getLong(), body.getLong()));
        }
        java.util.Set<Long> dataKeyIds = null;
        if (format5) {
            int stored = body.getInt();
            if (stored != -1) {
                int idCount = count(fileKey, body, stored);
                dataKeyIds = new java.util.TreeSet<>();
                for (int i = 0; i < idCount; i++) {
                    dataKeyIds.add(body.getLong());
                }
            }
        }
        return new ObjectMetadata(key, size, ObjectType.values()[type], ranges, dataTime, dataKeyIds);
    }

    /** A count read from the file, checked against what the remaining bytes could hold (no huge allocations). */
    private static int count(String key, ByteBuffer body, int count) {
        check(count >= 0 && count <= body.remaining(), key, "count=" + count + " remaining=" + body.remaining());
        return count;
    }

    private static void putLabels(Writer w, StreamLabels labels) {
        putKey(w, labels.tenant().orElse(""));
        w.putByte((byte) labels.tags().size());
        labels.tags().forEach((k, v) -> {
            putKey(w, k);
            putKey(w, v);
        });
    }

    private static StreamLabels getLabels(String key, ByteBuffer body) {
        String tenant = getKey(body);
        int tags = Byte.toUnsignedInt(body.get());
        java.util.Map<String, String> map = new java.util.TreeMap<>();
        for (int i = 0; i < tags; i++) {
            map.put(getKey(body), getKey(body));
        }
        try {
            return new StreamLabels(tenant.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(tenant), map);
        } catch (IllegalArgumentException e) {
            throw new CorruptDataException("corrupt manifest file: key=" + key + " invalid stream labels: " + e.getMessage(), e);
        }
    }

    private static byte[] frame(byte kind, long version, byte[] body, short format) {
        ByteBuffer out = ByteBuffer.allocate(ManifestDescriptor.HEADER_LENGTH + body.length);
        out.putInt(ManifestDescriptor.MAGIC);
        out.putShort(format);
        out.put(kind);
        out.put((byte) 0);
        out.putLong(version);
        out.putInt(body.length);
        out.putInt(crc(body, 0, body.length));
        out.putInt(crc(out.array(), 0, ManifestDescriptor.HEADER_CRC_OFFSET));
        out.put(body);
        return out.array();
    }

    private static ByteBuffer unframe(String key, byte kind, long expectedVersion, ByteBuffer file) {
        ByteBuffer f = file.duplicate();
        check(f.remaining() >= ManifestDescriptor.HEADER_LENGTH, key, "length=" + f.remaining() + " below header length");
        byte[] header = new byte[ManifestDescriptor.HEADER_LENGTH];
        f.get(header);
        ByteBuffer h = ByteBuffer.wrap(header);
        int storedHeaderCrc = h.getInt(ManifestDescriptor.HEADER_CRC_OFFSET);
        int computedHeaderCrc = crc(header, 0, ManifestDescriptor.HEADER_CRC_OFFSET);
        check(storedHeaderCrc == computedHeaderCrc, key, "header CRC mismatch stored=" + storedHeaderCrc
                + " computed=" + computedHeaderCrc);
        check(h.getInt(ManifestDescriptor.MAGIC_OFFSET) == ManifestDescriptor.MAGIC, key, "bad magic");
        short format = h.getShort(ManifestDescriptor.FORMAT_OFFSET);
        if (format != ManifestDescriptor.FORMAT_VERSION && format != ManifestDescriptor.FORMAT_SINGLE_CHANGE_LOG
                && format != ManifestDescriptor.FORMAT_LABELS && format != ManifestDescriptor.FORMAT_ENCRYPTION) {
            throw new UnsupportedFormatVersionException("manifest", "key=" + key, format,
                    ManifestDescriptor.FORMAT_SINGLE_CHANGE_LOG + "-" + ManifestDescriptor.FORMAT_ENCRYPTION);
        }
        check(h.get(ManifestDescriptor.KIND_OFFSET) == kind, key, "kind=" + h.get(ManifestDescriptor.KIND_OFFSET)
                + " expected=" + kind);
        long version = h.getLong(ManifestDescriptor.VERSION_OFFSET);
        check(version == expectedVersion, key, "version=" + version + " expected=" + expectedVersion);
        int bodyLength = h.getInt(ManifestDescriptor.BODY_LENGTH_OFFSET);
        check(bodyLength >= 0 && bodyLength <= ManifestDescriptor.MAX_BODY_LENGTH && bodyLength == f.remaining(), key,
                "bodyLength=" + bodyLength + " available=" + f.remaining());
        byte[] body = new byte[bodyLength];
        f.get(body);
        int storedBodyCrc = h.getInt(ManifestDescriptor.BODY_CRC_OFFSET);
        int computedBodyCrc = crc(body, 0, body.length);
        check(storedBodyCrc == computedBodyCrc, key, "body CRC mismatch stored=" + storedBodyCrc
                + " computed=" + computedBodyCrc);
        return ByteBuffer.wrap(body);
    }

    private static int crc(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    /** A growable big-endian byte writer. */
    private static final class Writer {
        private ByteBuffer buf = ByteBuffer.allocate(256);

        private void ensure(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n));
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        void putByte(byte b) {
            ensure(1);
            buf.put(b);
        }

        void putShort(short s) {
            ensure(2);
            buf.putShort(s);
        }

        void putInt(int i) {
            ensure(4);
            buf.putInt(i);
        }

        void putLong(long l) {
            ensure(8);
            buf.putLong(l);
        }

        void putBytes(byte[] b) {
            ensure(b.length);
            buf.put(b);
        }

        byte[] toArray() {
            byte[] out = new byte[buf.position()];
            buf.flip();
            buf.get(out);
            return out;
        }
    }
}
