package dev.strata.objectstore;

import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.s3.S3Options;
import dev.strata.objectstore.s3.ServerSideEncryption;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * Builds an {@link ObjectStorage} from a URI.
 *
 * <ul>
 *   <li>{@code file:///var/lib/strata/objects}: a {@link LocalObjectStorage} rooted there.</li>
 *   <li>{@code s3://bucket/prefix?region=us-east-1&endpoint=http://127.0.0.1:9000&pathStyle=true}:
 *       an {@link S3ObjectStorage}. Query parameters (all optional): {@code region} (default
 *       us-east-1), {@code endpoint} (for S3-compatible servers), {@code pathStyle} (true/false),
 *       {@code accessKey} and {@code secretKey} (static credentials; both or neither; without them
 *       the SDK's default provider chain is used), {@code partSizeBytes}, {@code maxPartsInFlight},
 *       {@code maxConcurrentRequests}; server-side encryption: {@code sse} ({@code none}, the
 *       default; {@code AES256} or {@code SSE-S3}; {@code aws:kms} or {@code SSE-KMS}; {@code SSE-C}),
 *       {@code sseKmsKeyId} and {@code sseBucketKey} (true/false; both only with aws:kms),
 *       {@code sseCustomerKey} (only with SSE-C, and required by it: 32 bytes in base64, with '+',
 *       '/' and '=' percent-encoded, or URL-safe base64; a secret, masked in every message).
 *       Unknown parameters are rejected, so a typo cannot silently fall back to a default.</li>
 * </ul>
 * The caller owns and closes the result. Stateless and thread-safe. Messages show the URI only
 * through {@link UriRedaction#redact}: never the user info or a secret parameter's value.
 */
public final class ObjectStorages {
    private static final Set<String> S3_PARAMS = Set.of("region", "endpoint", "pathStyle", "accessKey", "secretKey",
            "partSizeBytes", "maxPartsInFlight", "maxConcurrentRequests", "sse", "sseKmsKeyId", "sseBucketKey",
            "sseCustomerKey");

    private ObjectStorages() {
    }

    /** @throws IllegalArgumentException if the URI is malformed, has an unknown scheme or parameter */
    public static ObjectStorage fromUri(URI uri) {
        String scheme = uri.getScheme();
        if ("file".equals(scheme)) {
            if (uri.getRawQuery() != null) {
                throw new IllegalArgumentException("file object store URI takes no parameters: uri="
                        + UriRedaction.redact(uri));
            }
            return LocalObjectStorage.open(Path.of(uri));
        }
        if ("s3".equals(scheme)) {
            return S3ObjectStorage.create(s3Options(uri));
        }
        throw new IllegalArgumentException("unsupported object store URI scheme (file or s3): uri="
                + UriRedaction.redact(uri));
    }

    /** The {@link S3Options} an {@code s3://} URI describes. @throws IllegalArgumentException if malformed */
    public static S3Options s3Options(URI uri) {
        String bucket = uri.getHost() != null ? uri.getHost() : uri.getAuthority();
        if (!"s3".equals(uri.getScheme()) || bucket == null || bucket.isEmpty()) {
            throw new IllegalArgumentException("expected s3://bucket[/prefix][?params], got " + UriRedaction.redact(uri));
        }
        if (uri.getRawUserInfo() != null || bucket.contains("@")) {
            throw new IllegalArgumentException("s3 URI must not carry user info before the bucket (give credentials as "
                    + "accessKey and secretKey parameters): uri=" + UriRedaction.redact(uri));
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        String prefix = path.startsWith("/") ? path.substring(1) : path;
        Map<String, String> params = query(uri);
        for (String name : params.keySet()) {
            if (!S3_PARAMS.contains(name)) {
                throw new IllegalArgumentException("unknown s3 URI parameter: " + name + " (known: " + S3_PARAMS
                        + ") uri=" + UriRedaction.redact(uri));
            }
        }
        S3Options.Builder b = S3Options.builder(bucket).prefix(prefix);
        if (params.containsKey("region")) {
            b.region(params.get("region"));
        }
        if (params.containsKey("endpoint")) {
            b.endpoint(parseUri("endpoint", params.get("endpoint")));
        }
        if (params.containsKey("pathStyle")) {
            b.pathStyle(parseBoolean("pathStyle", params.get("pathStyle")));
        }
        String accessKey = params.get("accessKey");
        String secretKey = params.get("secretKey");
        if ((accessKey == null) != (secretKey == null)) {
            throw new IllegalArgumentException("accessKey and secretKey must be given together: uri="
                    + UriRedaction.redact(uri));
        }
        if (accessKey != null) {
            b.credentials(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)));
        }
        if (params.containsKey("partSizeBytes")) {
            b.partSizeBytes(parseInt("partSizeBytes", params.get("partSizeBytes")));
        }
        if (params.containsKey("maxPartsInFlight")) {
            b.maxPartsInFlight(parseInt("maxPartsInFlight", params.get("maxPartsInFlight")));
        }
        if (params.containsKey("maxConcurrentRequests")) {
            b.maxConcurrentRequests(parseInt("maxConcurrentRequests", params.get("maxConcurrentRequests")));
        }
        b.serverSideEncryption(serverSideEncryption(params));
        return b.build();
    }

    /**
     * The {@code sse*} parameters. Messages name the parameter and, except for the customer key,
     * the value.
     */
    private static ServerSideEncryption serverSideEncryption(Map<String, String> params) {
        String sse = params.getOrDefault("sse", "none");
        String kmsKeyId = params.get("sseKmsKeyId");
        String bucketKey = params.get("sseBucketKey");
        String customerKey = params.get("sseCustomerKey");
        boolean kms = sse.equals("aws:kms") || sse.equals("SSE-KMS");
        boolean sseC = sse.equals("SSE-C");
        if (!kms && !sseC && !sse.equals("none") && !sse.equals("AES256") && !sse.equals("SSE-S3")) {
            throw new IllegalArgumentException("sse must be one of none, AES256 (SSE-S3), aws:kms (SSE-KMS), SSE-C; got "
                    + sse);
        }
        if (!kms && (kmsKeyId != null || bucketKey != null)) {
            throw new IllegalArgumentException((kmsKeyId != null ? "sseKmsKeyId" : "sseBucketKey")
                    + " requires sse=aws:kms, got sse=" + sse);
        }
        if (!sseC && customerKey != null) {
            throw new IllegalArgumentException("sseCustomerKey requires sse=SSE-C, got sse=" + sse);
        }
        if (sseC) {
            if (customerKey == null) {
                throw new IllegalArgumentException("sse=SSE-C requires sseCustomerKey (32 bytes, base64)");
            }
            return ServerSideEncryption.customerKey(customerKey);
        }
        if (kms) {
            return ServerSideEncryption.kms(kmsKeyId, bucketKey == null ? null : parseBoolean("sseBucketKey", bucketKey));
        }
        return sse.equals("none") ? ServerSideEncryption.none() : ServerSideEncryption.s3Managed();
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> out = new LinkedHashMap<>();
        String raw = uri.getRawQuery();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        String[] pairs = raw.split("&");
        for (int i = 0; i < pairs.length; i++) {
            String pair = pairs[i];
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                // the pair itself is not shown: it could be a secret pasted without its name
                throw new IllegalArgumentException("malformed URI parameter " + (i + 1) + " of " + pairs.length
                        + " (expected name=value): uri=" + UriRedaction.redact(uri));
            }
            String name = decode(pair.substring(0, eq), "name of URI parameter " + (i + 1), uri);
            String value = decode(pair.substring(eq + 1), "value of URI parameter " + name, uri);
            if (out.put(name, value) != null) {
                throw new IllegalArgumentException("URI parameter given twice: " + name + " uri=" + UriRedaction.redact(uri));
            }
        }
        return out;
    }

    /**
     * Percent-decodes {@code raw}. The JDK's message would quote the bad characters, which may be part
     * of a secret: neither it nor its exception is kept.
     */
    private static String decode(String raw, String what, URI uri) {
        try {
            return URLDecoder.decode(raw, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malformed percent-encoding in the " + what + ": uri="
                    + UriRedaction.redact(uri));
        }
    }

    /** A URI-valued parameter; the message gives the reason and position, never the value's text. */
    private static URI parseUri(String name, String value) {
        try {
            return new URI(value);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(name + " is not a valid URI: " + e.getReason() + " at index "
                    + e.getIndex());
        }
    }

    private static boolean parseBoolean(String name, String value) {
        if (!value.equals("true") && !value.equals("false")) {
            throw new IllegalArgumentException(name + " must be true or false, got " + value);
        }
        return Boolean.parseBoolean(value);
    }

    private static int parseInt(String name, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got " + value, e);
        }
    }
}
