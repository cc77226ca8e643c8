package dev.strata.wal.objectstore;

import java.util.OptionalLong;

/**
 * Names of WAL objects: {@code <prefix>/wal/<sequence>}, the sequence as 20 zero-padded decimal
 * digits (enough for every non-negative {@code long}), so keys sort as sequences do. Immutable.
 */
final class WalObjectKeys {
    static final int SEQUENCE_DIGITS = 20;

    private final String walPrefix;

    /** @param prefix the store's prefix, or empty for the storage's root */
    WalObjectKeys(String prefix) {
        this.walPrefix = prefix.isEmpty() ? "wal/" : prefix + "/wal/";
    }

    /** What to list: every WAL object of this prefix, and nothing else. */
    String listPrefix() {
        return walPrefix;
    }

    String key(long sequence) {
        String digits = Long.toString(sequence);
        return walPrefix + "0".repeat(SEQUENCE_DIGITS - digits.length()) + digits;
    }

    /** The sequence named by {@code key}, or empty if the key is not a WAL object of this prefix. */
    OptionalLong sequenceOf(String key) {
        if (!key.startsWith(walPrefix) || key.length() != walPrefix.length() + SEQUENCE_DIGITS) {
            return OptionalLong.empty();
        }
        String digits = key.substring(walPrefix.length());
        for (int i = 0; i < digits.length(); i++) {
            if (digits.charAt(i) < '0' || digits.charAt(i) > '9') {
                return OptionalLong.empty();
            }
        }
        try {
            return OptionalLong.of(Long.parseLong(digits));
        } catch (NumberFormatException e) {
            return OptionalLong.empty(); // 20 digits above Long.MAX_VALUE: not ours
        }
    }
}
