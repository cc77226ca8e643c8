package dev.strata.objectstore.s3;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;

/**
 * How S3 encrypts the objects a {@link S3ObjectStorage} writes (server-side encryption, SSE).
 * Immutable and thread-safe; built by {@link #none()}, {@link #s3Managed()}, {@link #kms(String, Boolean)}
 * and {@link #customerKey(byte[])}.
 *
 * <pre>
 * mode          header(s) on writes                                 on reads (GET, HEAD)
 * NONE          none (the bucket's default encryption applies)      none
 * SSE_S3        x-amz-server-side-encryption: AES256                none
 * SSE_KMS       x-amz-server-side-encryption: aws:kms               none
 *               [x-amz-server-side-encryption-aws-kms-key-id: id]
 *               [x-amz-server-side-encryption-bucket-key-enabled]
 * SSE_C         x-amz-server-side-encryption-customer-algorithm: AES256,  the same three
 *               -customer-key: base64 key, -customer-key-MD5: base64 MD5 of the key
 * </pre>
 *
 * <p>Writes are PutObject and CreateMultipartUpload. SSE-C also goes on every UploadPart (S3
 * refuses a part without the key of its upload) and on CompleteMultipartUpload (AWS documents it
 * there as needed for uploads with checksums; AWS's own transfer manager always sends it, and
 * S3-compatible servers such as S3Proxy refuse the complete without it). S3 answers 400 to a GET or HEAD that carries the SSE-S3/KMS headers, so reads
 * carry only SSE-C's. DeleteObjects, ListObjectsV2, ListMultipartUploads and AbortMultipartUpload
 * take no encryption headers.
 *
 * <p>The customer key is a secret: {@link #toString()} never shows it (nor does any message of this
 * package). Losing it loses every object written under it. S3 refuses SSE-C over plain HTTP.
 */
public final class ServerSideEncryption {

    /** Which kind of server-side encryption. */
    public enum Mode {
        /** No encryption headers: the bucket's default encryption, if any, applies. */
        NONE,
        /** SSE-S3: keys managed by S3 ({@code AES256}). */
        SSE_S3,
        /** SSE-KMS: keys in AWS KMS ({@code aws:kms}), the bucket's default KMS key or a given one. */
        SSE_KMS,
        /** SSE-C: a 256-bit key the client gives with every request touching the object's data. */
        SSE_C
    }

    /** Length of an SSE-C key: AES-256. */
    public static final int CUSTOMER_KEY_BYTES = 32;

    private static final String AES256 = "AES256";
    private static final String AWS_KMS = "aws:kms";
    private static final ServerSideEncryption NONE = new ServerSideEncryption(Mode.NONE, null, null, null, null);
    private static final ServerSideEncryption SSE_S3 = new ServerSideEncryption(Mode.SSE_S3, null, null, null, null);

    private final Mode mode;
    private final String kmsKeyId; // SSE_KMS only; null: the bucket's/account's default key
    private final Boolean bucketKeyEnabled; // SSE_KMS only; null: not sent (the bucket's setting applies)
    private final String customerKeyBase64; // SSE_C only
    private final String customerKeyMd5Base64; // SSE_C only

    private ServerSideEncryption(Mode mode, String kmsKeyId, Boolean bucketKeyEnabled, String customerKeyBase64,
                                 String customerKeyMd5Base64) {
        this.mode = mode;
        this.kmsKeyId = kmsKeyId;
        this.bucketKeyEnabled = bucketKeyEnabled;
        this.customerKeyBase64 = customerKeyBase64;
        this.customerKeyMd5Base64 = customerKeyMd5Base64;
    }

    /** No encryption headers (the default). */
    public static ServerSideEncryption none() {
        return NONE;
    }

    /** SSE-S3 ({@code AES256}). */
    public static ServerSideEncryption s3Managed() {
        return SSE_S3;
    }

    /**
     * SSE-KMS ({@code aws:kms}).
     *
     * @param keyId the KMS key id or ARN, or {@code null} for the default KMS key
     * @param bucketKeyEnabled whether S3 uses a bucket key (fewer KMS calls), or {@code null} to send
     *     nothing and keep the bucket's setting
     * @throws IllegalArgumentException if {@code keyId} is empty
     */
    public static ServerSideEncryption kms(String keyId, Boolean bucketKeyEnabled) {
        if (keyId != null && keyId.isBlank()) {
            throw new IllegalArgumentException("sseKmsKeyId must not be blank (omit it for the default KMS key)");
        }
        return new ServerSideEncryption(Mode.SSE_KMS, keyId, bucketKeyEnabled, null, null);
    }

    /**
     * SSE-C with the given 256-bit key (copied).
     *
     * @throws IllegalArgumentException if the key is not {@value #CUSTOMER_KEY_BYTES} bytes (the
     *     message gives the length, never the key)
     */
    public static ServerSideEncryption customerKey(byte[] key) {
        if (key == null || key.length != CUSTOMER_KEY_BYTES) {
            throw new IllegalArgumentException("sseCustomerKey must be " + CUSTOMER_KEY_BYTES + " bytes (AES-256), got "
                    + (key == null ? "none" : key.length + " bytes"));
        }
        byte[] md5;
        try {
            md5 = MessageDigest.getInstance("MD5").digest(key);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is not available in this JVM", e);
        }
        Base64.Encoder b64 = Base64.getEncoder();
        return new ServerSideEncryption(Mode.SSE_C, null, null, b64.encodeToString(key), b64.encodeToString(md5));
    }

    /**
     * SSE-C with a key given as base64 (standard, or URL-safe as {@code -} and {@code _}), decoding to
     * {@value #CUSTOMER_KEY_BYTES} bytes.
     *
     * @throws IllegalArgumentException if it is not base64 or not 32 bytes; the message never shows
     *     the value
     */
    public static ServerSideEncryption customerKey(String base64) {
        if (base64 == null || base64.isEmpty()) {
            throw new IllegalArgumentException("sseCustomerKey must not be empty (32 bytes, base64)");
        }
        byte[] key;
        try {
            key = base64.indexOf('-') >= 0 || base64.indexOf('_') >= 0
                    ? Base64.getUrlDecoder().decode(base64) : Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            // The JDK's message quotes the offending character: not kept, it is part of the secret.
            throw new IllegalArgumentException("sseCustomerKey is not valid base64" + (base64.indexOf(' ') >= 0
                    ? " (it holds a space: in a URI, write '+' as %2B, or use URL-safe base64)" : ""));
        }
        try {
            return customerKey(key);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    public Mode mode() {
        return mode;
    }

    /** The KMS key id or ARN for {@link Mode#SSE_KMS}; {@code null} otherwise or for the default key. */
    public String kmsKeyId() {
        return kmsKeyId;
    }

    /** The bucket-key flag sent with {@link Mode#SSE_KMS}; {@code null} if none is sent. */
    public Boolean bucketKeyEnabled() {
        return bucketKeyEnabled;
    }

    /** Base64 MD5 of the SSE-C key (what S3 echoes to identify it; not the key); {@code null} otherwise. */
    public String customerKeyMd5() {
        return customerKeyMd5Base64;
    }

    void applyTo(PutObjectRequest.Builder b) {
        switch (mode) {
            case SSE_S3 -> b.serverSideEncryption(AES256);
            case SSE_KMS -> b.serverSideEncryption(AWS_KMS).ssekmsKeyId(kmsKeyId).bucketKeyEnabled(bucketKeyEnabled);
            case SSE_C -> b.sseCustomerAlgorithm(AES256).sseCustomerKey(customerKeyBase64)
                    .sseCustomerKeyMD5(customerKeyMd5Base64);
            case NONE -> { }
        }
    }

    void applyTo(CreateMultipartUploadRequest.Builder b) {
        switch (mode) {
            case SSE_S3 -> b.serverSideEncryption(AES256);
            case SSE_KMS -> b.serverSideEncryption(AWS_KMS).ssekmsKeyId(kmsKeyId).bucketKeyEnabled(bucketKeyEnabled);
            case SSE_C -> b.sseCustomerAlgorithm(AES256).sseCustomerKey(customerKeyBase64)
                    .sseCustomerKeyMD5(customerKeyMd5Base64);
            case NONE -> { }
        }
    }

    void applyTo(UploadPartRequest.Builder b) {
        if (mode == Mode.SSE_C) {
            b.sseCustomerAlgorithm(AES256).sseCustomerKey(customerKeyBase64).sseCustomerKeyMD5(customerKeyMd5Base64);
        }
    }

    void applyTo(CompleteMultipartUploadRequest.Builder b) {
        if (mode == Mode.SSE_C) {
            b.sseCustomerAlgorithm(AES256).sseCustomerKey(customerKeyBase64).sseCustomerKeyMD5(customerKeyMd5Base64);
        }
    }

    void applyTo(GetObjectRequest.Builder b) {
        if (mode == Mode.SSE_C) {
            b.sseCustomerAlgorithm(AES256).sseCustomerKey(customerKeyBase64).sseCustomerKeyMD5(customerKeyMd5Base64);
        }
    }

    void applyTo(HeadObjectRequest.Builder b) {
        if (mode == Mode.SSE_C) {
            b.sseCustomerAlgorithm(AES256).sseCustomerKey(customerKeyBase64).sseCustomerKeyMD5(customerKeyMd5Base64);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ServerSideEncryption s && mode == s.mode && Objects.equals(kmsKeyId, s.kmsKeyId)
                && Objects.equals(bucketKeyEnabled, s.bucketKeyEnabled)
                && Objects.equals(customerKeyBase64, s.customerKeyBase64);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, kmsKeyId, bucketKeyEnabled, customerKeyBase64);
    }

    /** The mode and KMS settings; for SSE-C the key is masked. */
    @Override
    public String toString() {
        return switch (mode) {
            case NONE -> "none";
            case SSE_S3 -> "SSE-S3";
            case SSE_KMS -> "SSE-KMS[keyId=" + (kmsKeyId == null ? "default" : kmsKeyId)
                    + (bucketKeyEnabled == null ? "" : ", bucketKey=" + bucketKeyEnabled) + "]";
            case SSE_C -> "SSE-C[customerKey=***]";
        };
    }
}
