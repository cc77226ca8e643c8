package dev.strata.objectstore;

import java.net.URI;
import java.util.Locale;

/**
 * Object-store URIs as they may appear in messages: without their secrets. Every exception and log
 * line that shows an object-store URI shows {@link #redact(URI)} of it.
 *
 * <p>Redacted: the user info ({@code user:password@}) and, in the query, the value of every
 * parameter whose name {@linkplain #isSecretParameter names a secret} ({@code secretKey},
 * {@code sessionToken}, anything containing "secret", "token", "password", "passwd", "credential"
 * or "signature", in any case), and any query pair that is not {@code name=value} (it could be a
 * secret pasted without its name). The scheme, bucket or host, path and other parameters stay, so a
 * message still says which store and which setting is meant. An opaque URI ({@code s3:bucket...},
 * no "//") keeps only its scheme; a fragment is dropped.
 *
 * <p>Stateless and thread-safe.
 */
public final class UriRedaction {
    /** What a redacted value is replaced with. */
    public static final String MASK = "***";

    private static final String[] SECRET_WORDS = {"secret", "token", "password", "passwd", "credential", "signature"};

    private UriRedaction() {
    }

    /** Whether a URI parameter named {@code name} holds a secret (see the class comment). */
    public static boolean isSecretParameter(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (String word : SECRET_WORDS) {
            if (n.contains(word)) {
                return true;
            }
        }
        return false;
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
            // checked raw and decoded: "%73ecretKey" is secretKey too
            if (isSecretParameter(name) || isSecretParameter(decodeOrSelf(name))) {
                sb.append(name).append('=').append(MASK);
            } else {
                sb.append(pair);
            }
        }
        return sb.toString();
    }

    private static String decodeOrSelf(String raw) {
        try {
            return java.net.URLDecoder.decode(raw, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return raw;
        }
    }
}
