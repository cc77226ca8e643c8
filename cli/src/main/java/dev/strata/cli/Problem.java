package dev.strata.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One problem a command found: what kind, where (an object key, {@code stream=ID}, a WAL path) and
 * the details (offsets, positions, sizes, the reader's message).
 *
 * @param kind a stable identifier scripts can match, e.g. {@code corrupt-block}, {@code missing-object}
 * @param where the object key, stream or file
 * @param detail human-readable detail with the numbers involved
 */
record Problem(String kind, String where, String detail) {

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", kind);
        m.put("where", where);
        m.put("detail", detail);
        return m;
    }

    @Override
    public String toString() {
        return "PROBLEM " + kind + " " + where + ": " + detail;
    }
}
