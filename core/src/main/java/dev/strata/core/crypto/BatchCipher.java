package dev.strata.core.crypto;

import dev.strata.api.CorruptDataException;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchDescriptor;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals and opens the encryption envelope of one stream batch (layout and associated data:
 * {@link EnvelopeDescriptor}). Internal: not API.
 *
 * <p>Thread-safe: stateless, with one {@link Cipher} per thread (a {@code Cipher} is not thread-safe
 * and {@code Cipher.getInstance} costs more than encrypting a small batch).
 */
public final class BatchCipher {
    private static final int TAG_BITS = EnvelopeDescriptor.TAG_BYTES * 8;
    /** The batch header bytes the AAD covers: from the length field to the payload. */
    private static final int AAD_HEADER_FROM = StreamBatchDescriptor.LENGTH_OFFSET;
    private static final int AAD_HEADER_BYTES = StreamBatchDescriptor.HEADER_SIZE - AAD_HEADER_FROM;

    private static final ThreadLocal<Cipher> CIPHERS = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no AES/GCM/NoPadding", e);
        }
    });

    private BatchCipher() {
    }

    /**
     * Writes the envelope header (version, algorithm, {@code key}'s id and a fresh nonce from its
     * counter) of the encrypted batch at {@code encoded}'s reader index, made by
     * {@code StreamBatchCodec.encodeUnassignedEncrypted}. Needs no lock: the nonce depends on the key only.
     */
    public static void writeHeader(ByteBuf encoded, DataKey key) {
        int at = encoded.readerIndex() + StreamBatchDescriptor.HEADER_SIZE;
        encoded.setByte(at + EnvelopeDescriptor.VERSION_OFFSET, EnvelopeDescriptor.VERSION_1);
        encoded.setByte(at + EnvelopeDescriptor.ALGORITHM_OFFSET, EnvelopeDescriptor.ALGORITHM_AES_256_GCM);
        encoded.setShort(at + EnvelopeDescriptor.RESERVED_OFFSET, 0);
        encoded.setLong(at + EnvelopeDescriptor.DEK_ID_OFFSET, key.id());
        encoded.setInt(at + EnvelopeDescriptor.NONCE_OFFSET, key.fixedField());
        encoded.setLong(at + EnvelopeDescriptor.NONCE_OFFSET + Integer.BYTES, key.nextCounter());
    }

    /**
     * Encrypts {@code plaintext} (its remaining bytes; position unchanged) into the envelope of the
     * batch at {@code encoded}'s reader index, whose header ({@link #writeHeader}) and batch header,
     * base offset included, are final: they are the associated data. The batch CRC is the caller's
     * to compute afterwards.
     *
     * @throws IllegalStateException if the JDK's cipher fails (it does not for valid keys)
     */
    public static void seal(ByteBuf encoded, DataKey key, ByteBuffer plaintext) {
        int start = encoded.readerIndex();
        int envelope = start + StreamBatchDescriptor.HEADER_SIZE;
        int envelopeLength = encoded.getInt(start + StreamBatchDescriptor.LENGTH_OFFSET);
        ByteBuffer in = plaintext.duplicate();
        if (envelopeLength != EnvelopeDescriptor.envelopeSize(in.remaining())) {
            throw new IllegalArgumentException("envelope does not fit the plaintext: envelopeLength=" + envelopeLength
                    + " plaintextLength=" + in.remaining());
        }
        Cipher cipher = CIPHERS.get();
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key.key(), nonce(encoded, envelope));
            cipher.updateAAD(encoded.nioBuffer(start + AAD_HEADER_FROM, AAD_HEADER_BYTES));
            cipher.updateAAD(encoded.nioBuffer(envelope, EnvelopeDescriptor.HEADER_SIZE));
            ByteBuffer out = encoded.nioBuffer(envelope + EnvelopeDescriptor.HEADER_SIZE,
                    envelopeLength - EnvelopeDescriptor.HEADER_SIZE);
            int written = cipher.doFinal(in, out);
            if (written != envelopeLength - EnvelopeDescriptor.HEADER_SIZE) {
                throw new IllegalStateException("AES-GCM wrote " + written + " bytes, expected "
                        + (envelopeLength - EnvelopeDescriptor.HEADER_SIZE));
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed: " + key, e);
        }
    }

    /**
     * Adds the DEK id of the encoded batch at {@code encoded}'s reader index to {@code ids} if the
     * batch is encrypted (attribute bit 0); a plain batch adds nothing. For recording which data keys
     * an object's batches need (key-record garbage collection); the envelope is checked at read.
     */
    public static void collectDataKeyId(ByteBuf encoded, java.util.Set<Long> ids) {
        int at = encoded.readerIndex();
        if ((encoded.getByte(at + StreamBatchDescriptor.ATTRIBUTES_OFFSET) & StreamBatchDescriptor.ATTR_ENCRYPTED) != 0
                && encoded.readableBytes() >= StreamBatchDescriptor.HEADER_SIZE + EnvelopeDescriptor.DEK_ID_OFFSET + Long.BYTES) {
            ids.add(encoded.getLong(at + StreamBatchDescriptor.HEADER_SIZE + EnvelopeDescriptor.DEK_ID_OFFSET));
        }
    }

    /** The DEK id of an encrypted batch, after checking its envelope header. */
    public static long dataKeyId(StreamBatch batch, String where) {
        ByteBuf all = batch.encoded();
        return EnvelopeDescriptor.checkHeader(all, StreamBatchDescriptor.HEADER_SIZE, batch.payloadLength(), where);
    }

    /**
     * Decrypts the payload of an encrypted batch into a new heap buffer (position 0, limit the
     * plaintext length).
     *
     * @throws CorruptDataException if the envelope is malformed or fails authentication (tampered
     *     with, moved from another stream or offset, or another key): no plaintext is returned
     */
    public static ByteBuffer open(StreamBatch batch, SecretKeySpec key, String where) {
        ByteBuf all = batch.encoded();
        int envelopeLength = batch.payloadLength();
        EnvelopeDescriptor.checkHeader(all, StreamBatchDescriptor.HEADER_SIZE, envelopeLength, where);
        int envelope = StreamBatchDescriptor.HEADER_SIZE;
        Cipher cipher = CIPHERS.get();
        ByteBuffer out = ByteBuffer.allocate(envelopeLength - EnvelopeDescriptor.OVERHEAD);
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, nonce(all, envelope));
            cipher.updateAAD(all.nioBuffer(AAD_HEADER_FROM, AAD_HEADER_BYTES));
            cipher.updateAAD(all.nioBuffer(envelope, EnvelopeDescriptor.HEADER_SIZE));
            cipher.doFinal(all.nioBuffer(envelope + EnvelopeDescriptor.HEADER_SIZE,
                    envelopeLength - EnvelopeDescriptor.HEADER_SIZE), out);
        } catch (AEADBadTagException e) {
            throw new CorruptDataException("encrypted batch failed authentication (tampered with, moved, or another key): "
                    + where + " streamId=" + batch.streamId() + " baseOffset=" + batch.baseOffset() + " dekId="
                    + Long.toHexString(all.getLong(envelope + EnvelopeDescriptor.DEK_ID_OFFSET)), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM decryption failed: " + where, e);
        }
        return out.flip();
    }

    private static GCMParameterSpec nonce(ByteBuf buf, int envelope) {
        byte[] nonce = new byte[EnvelopeDescriptor.NONCE_BYTES];
        buf.getBytes(envelope + EnvelopeDescriptor.NONCE_OFFSET, nonce);
        return new GCMParameterSpec(TAG_BITS, nonce);
    }
}
