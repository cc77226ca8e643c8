package dev.strata.objectstore.s3;

import dev.strata.objectstore.RetryPolicy;
import dev.strata.objectstore.UriRedaction;
import java.net.URI;
import java.time.Duration;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

/**
 * Settings of an {@link S3ObjectStorage}. Immutable; built by {@link #builder(String)}, whose
 * setters validate their value and name it in the message.
 *
 * <p>Server-side encryption ({@link Builder#serverSideEncryption}, default none): SSE-S3, SSE-KMS
 * with an optional key id and bucket-key flag, or SSE-C with a customer key; see
 * {@link ServerSideEncryption} for the headers each request carries. In an {@code s3://} URI
 * ({@link dev.strata.objectstore.ObjectStorages#s3Options}): {@code sse=AES256} (or {@code SSE-S3}),
 * {@code sse=aws:kms} (or {@code SSE-KMS}) with optional {@code sseKmsKeyId=} and
 * {@code sseBucketKey=true|false}, {@code sse=SSE-C&sseCustomerKey=<32 bytes, base64>}. The customer
 * key never appears in {@link #toString()} or a message.
 */
public final class S3Options {

    /** Smallest part S3 accepts (except the last part of an upload). */
    public static final int MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
    /** Default part size: 16 MiB keeps an SSO of ~100 MiB at a handful of parts, each cheap to retry. */
    public static final int DEFAULT_PART_SIZE_BYTES = 16 * 1024 * 1024;
    /** Default parts of one upload in flight at once: 4 x 16 MiB saturates a ~1 Gbit/s link. */
    public static final int DEFAULT_MAX_PARTS_IN_FLIGHT = 4;
    /** Default bound on concurrent HTTP requests (Netty connection pool size). */
    public static final int DEFAULT_MAX_CONCURRENT_REQUESTS = 64;
    /** Default bound on requests waiting for a connection; beyond it requests fail as throttled. */
    public static final int DEFAULT_MAX_PENDING_REQUESTS = 10_000;
    /** Default TCP connect timeout. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Default limit on one attempt: a 16 MiB part at 10 MB/s takes under 2 s; 30 s means a stuck request. */
    public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofSeconds(30);

    private final String bucket;
    private final String prefix;
    private final String region;
    private final URI endpoint;
    private final boolean pathStyle;
    private final AwsCredentialsProvider credentials;
    private final int partSizeBytes;
    private final int maxPartsInFlight;
    private final int maxConcurrentRequests;
    private final int maxPendingRequests;
    private final Duration connectTimeout;
    private final Duration attemptTimeout;
    private final RetryPolicy retryPolicy;
    private final ServerSideEncryption serverSideEncryption;

    private S3Options(Builder b) {
        this.bucket = b.bucket;
        this.prefix = b.prefix;
        this.region = b.region;
        this.endpoint = b.endpoint;
        this.pathStyle = b.pathStyle;
        this.credentials = b.credentials;
        this.partSizeBytes = b.partSizeBytes;
        this.maxPartsInFlight = b.maxPartsInFlight;
        this.maxConcurrentRequests = b.maxConcurrentRequests;
        this.maxPendingRequests = b.maxPendingRequests;
        this.connectTimeout = b.connectTimeout;
        this.attemptTimeout = b.attemptTimeout;
        this.retryPolicy = b.retryPolicy;
        this.serverSideEncryption = b.serverSideEncryption;
    }

    /** @throws IllegalArgumentException if {@code bucket} is empty */
    public static Builder builder(String bucket) {
        return new Builder(bucket);
    }

    public String bucket() {
        return bucket;
    }

    /** Prepended to every key; empty or ending in '/'. */
    public String prefix() {
        return prefix;
    }

    public String region() {
        return region;
    }

    /** Endpoint override for S3-compatible servers; {@code null} for AWS. */
    public URI endpoint() {
        return endpoint;
    }

    public boolean pathStyle() {
        return pathStyle;
    }

    /** Explicit credentials; {@code null} means the SDK's default provider chain. */
    public AwsCredentialsProvider credentials() {
        return credentials;
    }

    public int partSizeBytes() {
        return partSizeBytes;
    }

    public int maxPartsInFlight() {
        return maxPartsInFlight;
    }

    public int maxConcurrentRequests() {
        return maxConcurrentRequests;
    }

    public int maxPendingRequests() {
        return maxPendingRequests;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration attemptTimeout() {
        return attemptTimeout;
    }

    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    /** Server-side encryption of the objects written; {@link ServerSideEncryption#none()} by default. */
    public ServerSideEncryption serverSideEncryption() {
        return serverSideEncryption;
    }

    @Override
    public String toString() {
        return "S3Options[bucket=" + bucket + ", prefix=" + prefix + ", region=" + region + ", endpoint="
                + (endpoint == null ? null : UriRedaction.redact(endpoint))
                + ", pathStyle=" + pathStyle + ", credentials=" + (credentials == null ? "default-chain" : "static")
                + ", partSizeBytes=" + partSizeBytes + ", maxPartsInFlight=" + maxPartsInFlight
                + ", maxConcurrentRequests=" + maxConcurrentRequests + ", sse=" + serverSideEncryption
                + ", " + retryPolicy + "]";
    }

    /** Validating builder. */
    public static final class Builder {
        private final String bucket;
        private String prefix = "";
        private String region = "us-east-1";
        private URI endpoint;
        private boolean pathStyle;
        private AwsCredentialsProvider credentials;
        private int partSizeBytes = DEFAULT_PART_SIZE_BYTES;
        private int maxPartsInFlight = DEFAULT_MAX_PARTS_IN_FLIGHT;
        private int maxConcurrentRequests = DEFAULT_MAX_CONCURRENT_REQUESTS;
        private int maxPendingRequests = DEFAULT_MAX_PENDING_REQUESTS;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration attemptTimeout = DEFAULT_ATTEMPT_TIMEOUT;
        private RetryPolicy retryPolicy = RetryPolicy.defaults();
        private ServerSideEncryption serverSideEncryption = ServerSideEncryption.none();

        private Builder(String bucket) {
            if (bucket == null || bucket.isEmpty()) {
                throw new IllegalArgumentException("bucket must not be empty, got " + bucket);
            }
            this.bucket = bucket;
        }

        /** Key prefix; a trailing '/' is added if missing. @throws IllegalArgumentException if it starts with '/' */
        public Builder prefix(String prefix) {
            if (prefix == null || prefix.startsWith("/")) {
                throw new IllegalArgumentException("prefix must not be null or start with '/', got " + prefix);
            }
            this.prefix = prefix.isEmpty() || prefix.endsWith("/") ? prefix : prefix + "/";
            return this;
        }

        public Builder region(String region) {
            if (region == null || region.isEmpty()) {
                throw new IllegalArgumentException("region must not be empty, got " + region);
            }
            this.region = region;
            return this;
        }

        public Builder endpoint(URI endpoint) {
            if (endpoint != null && (endpoint.getScheme() == null || endpoint.getHost() == null)) {
                throw new IllegalArgumentException("endpoint must be an absolute http(s) URI, got "
                        + UriRedaction.redact(endpoint));
            }
            if (endpoint != null && (endpoint.getRawUserInfo() != null || endpoint.getRawQuery() != null)) {
                // the SDK would send or print them; credentials belong in credentials(...)
                throw new IllegalArgumentException("endpoint must not carry user info or a query (give credentials "
                        + "separately), got " + UriRedaction.redact(endpoint));
            }
            this.endpoint = endpoint;
            return this;
        }

        public Builder pathStyle(boolean pathStyle) {
            this.pathStyle = pathStyle;
            return this;
        }

        /** {@code null} (the default) uses the SDK's default provider chain. */
        public Builder credentials(AwsCredentialsProvider credentials) {
            this.credentials = credentials;
            return this;
        }

        /** @throws IllegalArgumentException if below {@link #MIN_PART_SIZE_BYTES} */
        public Builder partSizeBytes(int bytes) {
            if (bytes < MIN_PART_SIZE_BYTES) {
                throw new IllegalArgumentException("partSizeBytes must be >= " + MIN_PART_SIZE_BYTES + ", got " + bytes);
            }
            this.partSizeBytes = bytes;
            return this;
        }

        public Builder maxPartsInFlight(int parts) {
            this.maxPartsInFlight = requirePositive("maxPartsInFlight", parts);
            return this;
        }

        public Builder maxConcurrentRequests(int requests) {
            this.maxConcurrentRequests = requirePositive("maxConcurrentRequests", requests);
            return this;
        }

        public Builder maxPendingRequests(int requests) {
            this.maxPendingRequests = requirePositive("maxPendingRequests", requests);
            return this;
        }

        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = requirePositive("connectTimeout", timeout);
            return this;
        }

        public Builder attemptTimeout(Duration timeout) {
            this.attemptTimeout = requirePositive("attemptTimeout", timeout);
            return this;
        }

        public Builder retryPolicy(RetryPolicy policy) {
            if (policy == null) {
                throw new IllegalArgumentException("retryPolicy must not be null");
            }
            this.retryPolicy = policy;
            return this;
        }

        /**
         * Server-side encryption for every object written (and, for SSE-C, the key sent with every
         * read).
         *
         * @throws IllegalArgumentException if null (use {@link ServerSideEncryption#none()})
         */
        public Builder serverSideEncryption(ServerSideEncryption sse) {
            if (sse == null) {
                throw new IllegalArgumentException("serverSideEncryption must not be null (use ServerSideEncryption.none())");
            }
            this.serverSideEncryption = sse;
            return this;
        }

        public S3Options build() {
            return new S3Options(this);
        }

        private static int requirePositive(String name, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(name + " must be >= 1, got " + value);
            }
            return value;
        }

        private static Duration requirePositive(String name, Duration value) {
            if (value == null || value.isZero() || value.isNegative()) {
                throw new IllegalArgumentException(name + " must be positive, got " + value);
            }
            return value;
        }
    }
}
