package dev.strata.objectstore;

import java.net.URI;
import java.util.Locale;

/**
 * Object-store URIs as they may appear in messages: without their secrets. Every exception and log
 * line that shows an object-store URI shows {@link #redact(URI)} of it.
 *
 * <p>Redacted: the user info ({@code user:password@}), and in the query the value of every
 * parameter that is not known to be harmless. Values are shown only for the parameters in
 * {@link #SHOWN_PARAMETERS} (region, endpoint, path style, part and concurrency settings, the
 * server-side encryption mode and bucket-key flag), and an
 * endpoint's value is itself shown redacted. Every other value is masked, whatever the name: a
 * misspelt {@code secertKey=} or an unknown {@code pwd=} may hold a secret. A query pair that is not
 * {@code name=value} is masked whole (it could be a secret pasted without its name). The scheme,
 * bucket or host, path and parameter names stay, so a message still says which store and which
 * setting is meant. Masked among the known parameters: {@code accessKey}, {@code secretKey},
 * {@code sseCustomerKey} (an SSE-C key) and {@code sseKmsKeyId} (not a secret, but it names an
 * account's key). An opaque URI ({@code s3:bucket...}, no "//") keeps only its scheme; a fragment
 * is dropped.
 *
 * <p>Stateless and thread-safe.
 */
public final class UriRedaction {
    /** What a redacted value is replaced with. */
    public static final String MASK = "***";

    /** Parameters whose values are shown in messages (none of them can hold a secret). */
    public static final java.util.Set<String> SHOWN_PARAMETERS = java.util.Set.of("region", "endpoint", "pathStyle",
            "partSizeBytes", "maxPartsInFlight", "maxConcurrentRequests", "sse", "sseBucketKey");

    private UriRedaction() {
    }

    /** Whether the value of a URI parameter named {@code name} is masked in messages (all but {@link #SHOWN_PARAMETERS}). */
    public static boolean isSecretParameter(String name) {
        return !SHOWN_PARAMETERS.contains(name);
    }

    /** {@code uri} without its secrets, for messages; {@code "null"} for null. */
    public static String redact(URI uri) {
        if (uri == null) {
            return "null";
        }
        if (uri.isOpaque()) {
            return uri.getScheme() + ":" + MASK;
        }
        StringBuilder sb = new StringBuilder();
        if (uri.getScheme() != null) {
            sb.append(uri.getScheme()).append(':');
        }
        String authority = uri.getRawAuthority();
        if (authority != null) {
            int at = authority.lastIndexOf('@');
            sb.append("//").append(at >= 0 ? MASK + authority.substring(at) : authority);
        } else if (uri.getRawSchemeSpecificPart().startsWith("//")) {
            sb.append("//"); // an empty authority, as in file:///path
        }
        if (uri.getRawPath() != null) {
            sb.append(uri.getRawPath());
        }
        String query = uri.getRawQuery();
        if (query != null) {
            sb.append('?').append(redactQuery(query));
        }
        if (uri.getRawFragment() != null) {
            sb.append('#').append(MASK);
        }
        return sb.toString();
    }

    /** A raw query ({@code a=1&secretKey=x}) with secret values masked. */
    static String redactQuery(String rawQuery) {
        StringBuilder sb = new StringBuilder();
        for (String pair : rawQuery.split("&", -1)) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                sb.append(pair.isEmpty() ? "" : MASK);
                continue;
            }
            String name = pair.substring(0, eq);
            if (isSecretParameter(name)) { // raw: "%72egion" is not shown either
                sb.append(name).append('=').append(MASK);
            } else if (name.equals("endpoint")) {
                sb.append(name).append('=').append(redactEndpoint(pair.substring(eq + 1)));
            } else {
                sb.append(pair);
            }
        }
        return sb.toString();
    }

    /** An endpoint value (a URI, raw or percent-encoded) without its user info, query or fragment. */
    private static String redactEndpoint(String rawValue) {
        try {
            URI endpoint = URI.create(decodeOrSelf(rawValue));
            if (endpoint.isOpaque() || endpoint.getRawQuery() != null || endpoint.getRawFragment() != null) {
                return MASK; // nothing an endpoint needs: do not guess what it holds
            }
            return redact(endpoint);
        } catch (IllegalArgumentException e) {
            return MASK;
        }
    }

    private static String decodeOrSelf(String raw) {
        try {
            return java.net.URLDecoder.decode(raw, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return raw;
        }
    }
}
