package dev.strata.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.KeyUnavailableException;
import dev.strata.api.UnsupportedFormatVersionException;
import dev.strata.core.crypto.KeyRecordDescriptor.KeyRecord;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.util.Arrays;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.NumericChars;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;

/**
 * Key records (KeyRecordDescriptor) decode to what was encoded and refuse damage and newer
 * versions; the in-memory provider wraps per tenant and refuses for good once destroyed.
 */
class KeyRecordAndProviderTest {

    @Property(tries = 200)
    void keyRecordRoundTrips(@ForAll long dekId, @ForAll long created, @ForAll long nodeEpoch,
            @ForAll @AlphaChars @NumericChars @StringLength(min = 1, max = 64) String tenant,
            @ForAll @StringLength(min = 1, max = 100) String masterKeyId, @ForAll @Size(min = 1, max = 500) byte[] wrapped,
            @ForAll boolean tombstone) {
        KeyRecord record = new KeyRecord(dekId, created, nodeEpoch, tenant,
                tombstone ? null : new WrappedKey(masterKeyId, wrapped));
        ByteBuf encoded = KeyRecordDescriptor.encode(record);
        assertThat(KeyRecordDescriptor.decode(encoded, "test")).isEqualTo(record);
    }

    @Property(tries = 200)
    void anyFlippedBitInAKeyRecordIsRefused(@ForAll @Size(min = 1, max = 100) byte[] wrapped, @ForAll int seed) {
        ByteBuf encoded = KeyRecordDescriptor.encode(new KeyRecord(7, 8, 9, "acme", new WrappedKey("k", wrapped)));
        int bit = Math.floorMod(seed, encoded.readableBytes() * 8);
        encoded.setByte(bit / 8, encoded.getByte(bit / 8) ^ (1 << (bit % 8)));
        assertThatThrownBy(() -> KeyRecordDescriptor.decode(encoded, "test")).isInstanceOf(CorruptDataException.class);
    }

    @Example
    void goldenKeyRecordBytes() {
        ByteBuf encoded = KeyRecordDescriptor.encode(new KeyRecord(0x0A0B, 1000, 3, "acme",
                new WrappedKey("m1", new byte[] {(byte) 0xEE, (byte) 0xFF})));
        String hex = ByteBufUtil.hexDump(encoded);
        assertThat(hex.substring(0, hex.length() - 8)).isEqualTo("534b4559" + "0001" + "0000" + "0000000000000a0b"
                + "00000000000003e8" + "0000000000000003" + "0004" + "61636d65" + "0002" + "6d31" + "00000002" + "eeff");
        assertThat(KeyRecordDescriptor.recordKey("acme", 0x0A0B)).isEqualTo("keys/tenant=acme/0000000000000a0b");
        assertThat(KeyRecordDescriptor.tombstoneKey("..")).isEqualTo("keys/tenant=../destroyed");
    }

    @Example
    void newerKeyRecordVersionIsRefusedAsUnsupported() {
        ByteBuf encoded = KeyRecordDescriptor.encode(new KeyRecord(1, 2, 3, "acme", new WrappedKey("m", new byte[] {1})));
        encoded.setShort(KeyRecordDescriptor.VERSION_OFFSET, 2);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(encoded.nioBuffer(0, encoded.readableBytes() - 4));
        encoded.setInt(encoded.readableBytes() - 4, (int) crc.getValue());
        assertThatThrownBy(() -> KeyRecordDescriptor.decode(encoded, "test"))
                .isInstanceOf(UnsupportedFormatVersionException.class).hasMessageContaining("key record");
    }

    @Example
    void inMemoryProviderUnwrapsForTheSameTenantOnly() {
        InMemoryKeyProvider provider = new InMemoryKeyProvider();
        byte[] dek = new byte[32];
        Arrays.fill(dek, (byte) 4);
        WrappedKey wrapped = provider.wrap("acme", dek);
        assertThat(ByteBufUtil.hexDump(wrapped.ciphertext())).doesNotContain(ByteBufUtil.hexDump(dek));
        assertThat(provider.unwrap("acme", wrapped)).isEqualTo(dek);
        provider.wrap("globex", dek);
        // the same ciphertext presented for another tenant does not unwrap (master key id and AAD differ)
        assertThatThrownBy(() -> provider.unwrap("globex", wrapped)).isInstanceOf(KeyUnavailableException.class);
        assertThatThrownBy(() -> provider.unwrap("globex", new WrappedKey("inmemory:globex:1", wrapped.ciphertext())))
                .isInstanceOf(KeyUnavailableException.class).hasMessageContaining("does not unwrap");
    }

    @Example
    void destroyedTenantNeverUnwrapsOrWrapsAgain() {
        InMemoryKeyProvider provider = new InMemoryKeyProvider();
        byte[] dek = new byte[32];
        WrappedKey wrapped = provider.wrap("acme", dek);
        WrappedKey other = provider.wrap("globex", dek);
        provider.destroy("acme");
        provider.destroy("acme"); // idempotent
        assertThat(provider.isDestroyed("acme")).isTrue();
        assertThatThrownBy(() -> provider.unwrap("acme", wrapped)).isInstanceOf(KeyUnavailableException.class)
                .hasMessageContaining("destroyed")
                .satisfies(e -> assertThat(((KeyUnavailableException) e).tenant()).isEqualTo("acme"))
                .satisfies(e -> assertThat(((KeyUnavailableException) e).isRetriable()).isFalse());
        assertThatThrownBy(() -> provider.wrap("acme", dek)).isInstanceOf(KeyUnavailableException.class);
        assertThat(provider.unwrap("globex", other)).isEqualTo(dek);
    }
}
