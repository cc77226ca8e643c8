package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.objectstore.s3.S3Options;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ObjectKeysAndUrisTest {

    @Test
    void dataObjectKeysHaveAHashPrefixAndParseBack() {
        String key = ObjectKeys.dataObjectKey(ObjectKeys.ObjectType.STREAM_SET, 1234);
        assertThat(key).matches("[0-9a-f]{4}/sso/00000000000000001234");
        assertThat(ObjectKeys.parseObjectId(key)).isEqualTo(1234);
        assertThat(ObjectKeys.parseObjectId(ObjectKeys.dataObjectKey(ObjectKeys.ObjectType.STREAM, 0))).isZero();
        assertThat(ObjectKeys.parseObjectId("0000/sso/00000000000000001234")).isEqualTo(-1);
        assertThat(ObjectKeys.parseObjectId("manifest/1")).isEqualTo(-1);
        Set<String> prefixes = new HashSet<>();
        for (long id = 0; id < 1000; id++) {
            prefixes.add(ObjectKeys.hashPrefix(id));
        }
        assertThat(prefixes).hasSizeGreaterThan(950); // consecutive ids spread over the prefix space
    }

    @Test
    void s3UriCarriesEverySetting() {
        S3Options o = ObjectStorages.s3Options(URI.create("s3://bucket/some/prefix?region=eu-west-1"
                + "&endpoint=http://127.0.0.1:9000&pathStyle=true&accessKey=AK&secretKey=SK&partSizeBytes=8388608"));
        assertThat(o.bucket()).isEqualTo("bucket");
        assertThat(o.prefix()).isEqualTo("some/prefix/");
        assertThat(o.region()).isEqualTo("eu-west-1");
        assertThat(o.endpoint()).isEqualTo(URI.create("http://127.0.0.1:9000"));
        assertThat(o.pathStyle()).isTrue();
        assertThat(o.credentials().resolveCredentials().accessKeyId()).isEqualTo("AK");
        assertThat(o.partSizeBytes()).isEqualTo(8 << 20);
        S3Options plain = ObjectStorages.s3Options(URI.create("s3://b"));
        assertThat(plain.prefix()).isEmpty();
        assertThat(plain.credentials()).isNull(); // SDK default chain
        assertThat(plain.endpoint()).isNull();
    }

    @Test
    void badUrisAreRejectedWithTheReason() {
        assertThatThrownBy(() -> ObjectStorages.fromUri(URI.create("s3://b?regoin=x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("regoin");
        assertThatThrownBy(() -> ObjectStorages.fromUri(URI.create("s3://b?accessKey=x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("together");
        assertThatThrownBy(() -> ObjectStorages.fromUri(URI.create("gs://b")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scheme");
        assertThatThrownBy(() -> ObjectStorages.fromUri(URI.create("s3://b?partSizeBytes=1000")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("partSizeBytes");
    }

    @Test
    void fileUriOpensALocalStorage(@TempDir Path dir) {
        try (ObjectStorage s = ObjectStorages.fromUri(dir.resolve("objs").toUri())) {
            assertThat(s).isInstanceOf(LocalObjectStorage.class);
            assertThat(((LocalObjectStorage) s).root()).isEqualTo(dir.resolve("objs").toAbsolutePath());
        }
    }
}
