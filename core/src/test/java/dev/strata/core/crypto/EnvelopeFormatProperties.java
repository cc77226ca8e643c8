package dev.strata.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.UnsupportedFormatVersionException;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.format.StreamBatchDescriptor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.Arrays;
import javax.crypto.spec.SecretKeySpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

/**
 * The encryption envelope inside a stream batch (EnvelopeDescriptor): what is sealed opens to the
 * same bytes; any change to the stored bytes (ciphertext, tag, envelope header, or the batch header
 * the associated data covers), even with the batch CRC recomputed to match, fails with
 * {@link CorruptDataException} and never yields data; a newer envelope version is refused as such.
 */
class EnvelopeFormatProperties {

    /** Seals like the append path: header and nonce first, then the offset, the ciphertext and the CRC. */
    static ByteBuf seal(DataKey key, long streamId, long epoch, long baseOffset, int count, long timestamp, byte[] payload) {
        ByteBuf out = Unpooled.buffer();
        StreamBatchCodec.encodeUnassignedEncrypted(out, streamId, epoch, count, timestamp,
                EnvelopeDescriptor.envelopeSize(payload.length));
        BatchCipher.writeHeader(out, key);
        StreamBatchCodec.setBaseOffset(out, baseOffset);
        BatchCipher.seal(out, key, ByteBuffer.wrap(payload));
        StreamBatchCodec.finishChecksum(out);
        return out;
    }

    /**
     * A fresh random key: the JDK's GCM refuses to encrypt twice with one key and nonce on one
     * {@code Cipher} (and each new DataKey's counter starts at 0), so tests never reuse key bytes.
     */
    static DataKey key(long id) {
        byte[] raw = new byte[32];
        new java.security.SecureRandom().nextBytes(raw);
        return new DataKey("acme", id, new SecretKeySpec(raw, "AES"), 0x01020304);
    }

    static DataKey key(byte fill, long id) {
        byte[] raw = new byte[32];
        Arrays.fill(raw, fill);
        return new DataKey("acme", id, new SecretKeySpec(raw, "AES"), 0x01020304);
    }

    private static byte[] open(ByteBuf encoded, DataKey key) {
        StreamBatch b = StreamBatchCodec.read(encoded.duplicate(), "test", 0);
        assertThat(b.isEncrypted()).isTrue();
        assertThat(BatchCipher.dataKeyId(b, "test")).isEqualTo(key.id());
        ByteBuffer plain = BatchCipher.open(b, key.key(), "test");
        byte[] out = new byte[plain.remaining()];
        plain.get(out);
        return out;
    }

    @Property(tries = 200)
    void sealedBatchOpensToThePayload(@ForAll @LongRange(min = 0) long streamId, @ForAll @LongRange(min = 0) long epoch,
            @ForAll @LongRange(min = 0, max = 1L << 50) long baseOffset, @ForAll @IntRange(min = 1, max = 1000) int count,
            @ForAll long timestamp, @ForAll @Size(max = 3000) byte[] payload, @ForAll long dekId) {
        DataKey key = key(dekId);
        ByteBuf encoded = seal(key, streamId, epoch, baseOffset, count, timestamp, payload);
        StreamBatch b = StreamBatchCodec.read(encoded.duplicate(), "test", 0);
        assertThat(b.streamId()).isEqualTo(streamId);
        assertThat(b.baseOffset()).isEqualTo(baseOffset);
        assertThat(b.count()).isEqualTo(count);
        assertThat(b.baseTimestamp()).isEqualTo(timestamp);
        assertThat(b.payloadLength()).isEqualTo(payload.length + EnvelopeDescriptor.OVERHEAD);
        assertThat(open(encoded, key)).isEqualTo(payload);
    }

    @Property(tries = 300)
    void anyFlippedBitFailsAuthenticationEvenWithTheCrcRecomputed(@ForAll @Size(min = 1, max = 600) byte[] payload,
            @ForAll("bitIndexes") int bitSeed) {
        DataKey key = key(42);
        ByteBuf encoded = seal(key, 3, 1, 100, 2, 1234, payload);
        // every bit after the CRC and the length field (which frames the batch) is authenticated
        int from = StreamBatchDescriptor.MAGIC_OFFSET * 8;
        int bits = encoded.readableBytes() * 8 - from;
        int bit = from + Math.floorMod(bitSeed, bits);
        int index = bit / 8;
        // the encrypted bit itself is the one change authentication cannot see (see the example below)
        net.jqwik.api.Assume.that(bit != StreamBatchDescriptor.ATTRIBUTES_OFFSET * 8);
        encoded.setByte(index, encoded.getByte(index) ^ (1 << (bit % 8)));
        StreamBatchCodec.finishChecksum(encoded);
        assertThatThrownBy(() -> {
            StreamBatch b = StreamBatchCodec.read(encoded.duplicate(), "test", 0);
            BatchCipher.open(b, key.key(), "test");
        }).isInstanceOf(CorruptDataException.class);
    }

    /**
     * Clearing the encrypted bit makes the batch look plain, which the envelope's authentication
     * cannot see (only the CRC, which whoever rewrites the bytes recomputes). The stream's metadata
     * can: a stream encrypted from some offset on ({@code StreamMetadata.encryptedFromOffset}) has no
     * plain batch there, and the keyring refuses one as corrupt instead of returning the envelope as
     * data (end to end through the store: {@code EncryptionTest}). Below that offset (a stream
     * created before encryption was enabled) a plain batch is data.
     */
    @Example
    void aBatchWhoseEncryptedBitWasClearedIsRefusedWhereItsStreamIsEncrypted() {
        ByteBuf encoded = seal(key(1), 1, 0, 10, 1, 0, new byte[] {1, 2, 3});
        encoded.setByte(StreamBatchDescriptor.ATTRIBUTES_OFFSET, 0);
        assertThatThrownBy(() -> StreamBatchCodec.read(encoded.duplicate(), "test", 0))
                .isInstanceOf(CorruptDataException.class).hasMessageContaining("CRC mismatch");
        StreamBatchCodec.finishChecksum(encoded);
        StreamBatch plain = StreamBatchCodec.read(encoded.duplicate(), "test", 0);
        assertThat(plain.isEncrypted()).as("only the metadata can tell").isFalse();
        TenantKeyring keyring = TenantKeyring.disabled();
        for (long encryptedFrom : new long[] {0, 10}) {
            assertThatThrownBy(() -> keyring.plaintext(plain, "test", encryptedFrom))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("unencrypted batch where its stream is encrypted");
        }
        assertThat(keyring.plaintext(plain, "test", 11).remaining()).as("below the stream's encrypted-from offset")
                .isEqualTo(3 + EnvelopeDescriptor.OVERHEAD);
        assertThat(keyring.plaintext(plain, "test", -1).remaining()).as("a stream that is not encrypted")
                .isEqualTo(3 + EnvelopeDescriptor.OVERHEAD);
    }

    @Provide
    Arbitrary<Integer> bitIndexes() {
        return Arbitraries.integers().between(0, Integer.MAX_VALUE);
    }

    @Property(tries = 100)
    void ciphertextMovedToAnotherOffsetOrStreamFailsAuthentication(@ForAll @Size(max = 200) byte[] payload,
            @ForAll boolean moveStream) {
        DataKey key = key(77);
        ByteBuf encoded = seal(key, 10, 0, 500, 1, 0, payload);
        if (moveStream) {
            encoded.setLong(StreamBatchDescriptor.STREAM_ID_OFFSET, 11);
        } else {
            encoded.setLong(StreamBatchDescriptor.BASE_OFFSET_OFFSET, 501);
        }
        StreamBatchCodec.finishChecksum(encoded);
        assertThatThrownBy(() -> open(encoded, key)).isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("failed authentication");
    }

    @Property(tries = 50)
    void anotherKeyFailsAuthentication(@ForAll @Size(max = 200) byte[] payload) {
        ByteBuf encoded = seal(key(77), 10, 0, 0, 1, 0, payload);
        assertThatThrownBy(() -> open(encoded, key(77))).isInstanceOf(CorruptDataException.class);
    }

    @Property(tries = 50)
    void noncesNeverRepeatUnderOneKey(@ForAll @IntRange(min = 2, max = 500) int batches) {
        DataKey key = key(3);
        java.util.Set<String> nonces = new java.util.HashSet<>();
        for (int i = 0; i < batches; i++) {
            ByteBuf encoded = seal(key, 1, 0, i, 1, 0, new byte[] {(byte) i});
            int nonceAt = StreamBatchDescriptor.HEADER_SIZE + EnvelopeDescriptor.NONCE_OFFSET;
            assertThat(nonces.add(ByteBufUtil.hexDump(encoded, nonceAt, EnvelopeDescriptor.NONCE_BYTES))).isTrue();
        }
    }

    @Example
    void newerEnvelopeVersionIsRefusedAsUnsupported() {
        DataKey key = key(1);
        ByteBuf encoded = seal(key, 1, 0, 0, 1, 0, new byte[] {1});
        encoded.setByte(StreamBatchDescriptor.HEADER_SIZE + EnvelopeDescriptor.VERSION_OFFSET, 2);
        StreamBatchCodec.finishChecksum(encoded);
        assertThatThrownBy(() -> open(encoded, key)).isInstanceOf(UnsupportedFormatVersionException.class)
                .hasMessageContaining("encryption envelope").hasMessageContaining("version=2");
    }

    @Example
    void unknownAttributeBitsAreStillRefused() {
        // what a release from before the encrypted bit does with bit 0 (it knew no bits), this one does with bit 1
        ByteBuf encoded = seal(key(1), 1, 0, 0, 1, 0, new byte[] {1});
        encoded.setByte(StreamBatchDescriptor.ATTRIBUTES_OFFSET, 3);
        StreamBatchCodec.finishChecksum(encoded);
        assertThatThrownBy(() -> StreamBatchCodec.read(encoded.duplicate(), "test", 0))
                .isInstanceOf(CorruptDataException.class).hasMessageContaining("unknown attributes");
    }

    @Example
    void truncatedEnvelopeIsCorrupt() {
        ByteBuf encoded = Unpooled.buffer();
        StreamBatchCodec.encodeUnassignedEncrypted(encoded, 1, 0, 1, 0, EnvelopeDescriptor.OVERHEAD - 1);
        StreamBatchCodec.setBaseOffset(encoded, 0);
        StreamBatchCodec.finishChecksum(encoded);
        StreamBatch b = StreamBatchCodec.read(encoded.duplicate(), "test", 0);
        assertThatThrownBy(() -> BatchCipher.dataKeyId(b, "test")).isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("truncated");
    }

    /** The envelope's bytes, pinned: a change of layout, AAD or nonce construction shows here. */
    @Example
    void goldenBytes() {
        DataKey key = key((byte) 0x11, 0x0102030405060708L);
        ByteBuf encoded = seal(key, 5, 2, 9, 1, 77, "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String hex = ByteBufUtil.hexDump(encoded);
        String header = hex.substring(8, 2 * StreamBatchDescriptor.HEADER_SIZE); // after the CRC
        assertThat(header).isEqualTo("0000002d" + "01" + "01" + "0000" + "00000001"
                + "0000000000000005" + "0000000000000002" + "0000000000000009" + "000000000000004d");
        String envelope = hex.substring(2 * StreamBatchDescriptor.HEADER_SIZE);
        assertThat(envelope.substring(0, 2 * EnvelopeDescriptor.HEADER_SIZE))
                .isEqualTo("01" + "01" + "0000" + "0102030405060708" + "01020304" + "0000000000000000");
        assertThat(envelope).isEqualTo(GOLDEN_ENVELOPE);
    }

    /** {@link #goldenBytes}'s envelope: header, "hello" encrypted, tag. */
    static final String GOLDEN_ENVELOPE = "010100000102030405060708010203040000000000000000"
            + "24c8f33cac" + "ccb2003f44d537388df9be02c18c2a5d";
}
