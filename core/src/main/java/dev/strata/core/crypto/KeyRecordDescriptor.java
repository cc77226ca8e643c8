package dev.strata.core.crypto;

import dev.strata.api.CorruptDataException;
import dev.strata.api.UnsupportedFormatVersionException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Layout of a key record: one object per data key (DEK) at
 * {@code keys/tenant=<tenant>/<dekId as 16 lower-case hex digits>} in the store's object store,
 * written once with {@code If-None-Match: *} before the first batch encrypted under it is appended,
 * and a tombstone at {@code keys/tenant=<tenant>/destroyed} once the tenant's key was destroyed.
 * Internal: not API.
 *
 * <pre>
 *  0        4     6     8                16               24               32
 *  +--------+-----+-----+----------------+----------------+----------------+------+--------+------+-------------+------+-----------+-------+
 *  | magic  | ver |flags| dekId (i64)    | created (i64)  | nodeEpoch (i64)| tLen | tenant | kLen | masterKeyId | wLen | wrapped   | crc   |
 *  +--------+-----+-----+----------------+----------------+----------------+------+--------+------+-------------+------+-----------+-------+
 *  magic       "SKEY" (0x534B4559)
 *  ver         u16 = 1; a reader refuses others (UnsupportedFormatVersionException)
 *  flags       u16: bit 0 = tombstone (the tenant's key was destroyed; dekId -1, kLen = wLen = 0)
 *  dekId       the data key's id (also in the key and in every envelope it encrypted)
 *  created     epoch milliseconds (the store's clock) when the record was written
 *  nodeEpoch   the node epoch of the store that wrote it
 *  tLen u16, tenant UTF-8; kLen u16, masterKeyId UTF-8; wLen i32, wrapped key bytes (KeyProvider's)
 *  crc         CRC32C of every byte before it
 * </pre>
 * Big-endian. The wrapped key is the only secret here, and it is useless without the tenant's master
 * key (in the {@link KeyProvider}). The record holds no data key in clear, so reading it (or every
 * byte of the bucket) tells nothing about the tenant's data.
 */
public final class KeyRecordDescriptor {
    /** "SKEY". */
    public static final int MAGIC = 0x534B4559;
    /** The version this build writes and reads. */
    public static final short VERSION_1 = 1;
    /** Flag bit 0: tombstone. */
    public static final short FLAG_TOMBSTONE = 1;
    /** Prefix of every key record. */
    public static final String PREFIX = "keys/";

    /** Offset of the magic. */
    public static final int MAGIC_OFFSET = 0;
    /** Offset of the version. */
    public static final int VERSION_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    /** Offset of the flags. */
    public static final int FLAGS_OFFSET = VERSION_OFFSET + Short.BYTES;
    /** Offset of the DEK id. */
    public static final int DEK_ID_OFFSET = FLAGS_OFFSET + Short.BYTES;
    /** Offset of the creation time. */
    public static final int CREATED_OFFSET = DEK_ID_OFFSET + Long.BYTES;
    /** Offset of the node epoch. */
    public static final int NODE_EPOCH_OFFSET = CREATED_OFFSET + Long.BYTES;
    /** Offset of the tenant's length; the variable part starts here. */
    public static final int VARIABLE_OFFSET = NODE_EPOCH_OFFSET + Long.BYTES;

    private KeyRecordDescriptor() {
    }

    /** What a key record says. {@code wrapped} is null for a tombstone. */
    public record KeyRecord(long dekId, long createdMillis, long nodeEpoch, String tenant, WrappedKey wrapped) {
        public boolean isTombstone() {
            return wrapped == null;
        }
    }

    /** The prefix of {@code tenant}'s records. */
    public static String tenantPrefix(String tenant) {
        return PREFIX + "tenant=" + tenant + "/";
    }

    /** The object key of a DEK's record. */
    public static String recordKey(String tenant, long dekId) {
        return tenantPrefix(tenant) + String.format("%016x", dekId);
    }

    /** The object key of a tenant's tombstone. */
    public static String tombstoneKey(String tenant) {
        return tenantPrefix(tenant) + "destroyed";
    }

    /** What a key record's object key names: a tenant and a DEK id, or the tenant's tombstone. */
    public record RecordKey(String tenant, long dekId, boolean isTombstone) {
    }

    /** Parses a key record's object key; null if {@code key} is not one. */
    public static RecordKey parseKey(String key) {
        String prefix = PREFIX + "tenant=";
        if (key == null || !key.startsWith(prefix)) {
            return null;
        }
        int slash = key.indexOf('/', prefix.length());
        if (slash < 0 || slash == prefix.length()) {
            return null;
        }
        String tenant = key.substring(prefix.length(), slash);
        String name = key.substring(slash + 1);
        if (name.equals("destroyed")) {
            return new RecordKey(tenant, -1, true);
        }
        if (name.length() != 16) {
            return null;
        }
        try {
            return new RecordKey(tenant, Long.parseUnsignedLong(name, 16), false);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Encodes a record into a new heap buffer the caller owns. */
    public static ByteBuf encode(KeyRecord record) {
        byte[] tenant = record.tenant().getBytes(StandardCharsets.UTF_8);
        byte[] keyId = record.isTombstone() ? new byte[0] : record.wrapped().masterKeyId().getBytes(StandardCharsets.UTF_8);
        byte[] wrapped = record.isTombstone() ? new byte[0] : record.wrapped().ciphertext();
        ByteBuf out = Unpooled.buffer(VARIABLE_OFFSET + 2 + tenant.length + 2 + keyId.length + 4 + wrapped.length + 4);
        out.writeInt(MAGIC);
        out.writeShort(VERSION_1);
        out.writeShort(record.isTombstone() ? FLAG_TOMBSTONE : 0);
        out.writeLong(record.dekId());
        out.writeLong(record.createdMillis());
        out.writeLong(record.nodeEpoch());
        out.writeShort(tenant.length);
        out.writeBytes(tenant);
        out.writeShort(keyId.length);
        out.writeBytes(keyId);
        out.writeInt(wrapped.length);
        out.writeBytes(wrapped);
        out.writeInt(crc(out, out.writerIndex()));
        return out;
    }

    /**
     * Decodes the record in {@code buf}'s readable bytes (indexes unchanged).
     *
     * @throws UnsupportedFormatVersionException for another version
     * @throws CorruptDataException naming {@code where} for a bad magic, CRC or length
     */
    public static KeyRecord decode(ByteBuf buf, String where) {
        int start = buf.readerIndex();
        int size = buf.readableBytes();
        if (size < VARIABLE_OFFSET + 2 + 2 + 4 + 4) {
            throw new CorruptDataException("key record truncated: " + where + " size=" + size);
        }
        int magic = buf.getInt(start + MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new CorruptDataException("key record has a bad magic: " + where + " magic=" + Integer.toHexString(magic));
        }
        int stored = buf.getInt(start + size - 4);
        ByteBuf body = buf.slice(start, size);
        int computed = crc(body, size - 4);
        if (stored != computed) {
            throw new CorruptDataException("key record CRC mismatch: " + where + " stored=" + Integer.toHexString(stored)
                    + " computed=" + Integer.toHexString(computed));
        }
        short version = buf.getShort(start + VERSION_OFFSET);
        if (version != VERSION_1) {
            throw new UnsupportedFormatVersionException("key record", where, version, "1");
        }
        short flags = buf.getShort(start + FLAGS_OFFSET);
        if ((flags & ~FLAG_TOMBSTONE) != 0) {
            throw new CorruptDataException("key record has unknown flags: " + where + " flags=" + flags);
        }
        try {
            ByteBuf r = body.duplicate().readerIndex(VARIABLE_OFFSET).writerIndex(size - 4);
            String tenant = r.readCharSequence(r.readUnsignedShort(), StandardCharsets.UTF_8).toString();
            String keyId = r.readCharSequence(r.readUnsignedShort(), StandardCharsets.UTF_8).toString();
            int wrappedLength = r.readInt();
            if (wrappedLength < 0 || wrappedLength != r.readableBytes()) {
                throw new CorruptDataException("key record length mismatch: " + where + " wrappedLength=" + wrappedLength
                        + " remaining=" + r.readableBytes());
            }
            byte[] wrapped = new byte[wrappedLength];
            r.readBytes(wrapped);
            boolean tombstone = (flags & FLAG_TOMBSTONE) != 0;
            return new KeyRecord(buf.getLong(start + DEK_ID_OFFSET), buf.getLong(start + CREATED_OFFSET),
                    buf.getLong(start + NODE_EPOCH_OFFSET), tenant, tombstone ? null : new WrappedKey(keyId, wrapped));
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new CorruptDataException("key record malformed: " + where, e);
        }
    }

    private static int crc(ByteBuf buf, int length) {
        CRC32C crc = new CRC32C();
        crc.update(buf.nioBuffer(buf.readerIndex(), length));
        return (int) crc.getValue();
    }
}
