package dev.strata.jmh.runner;

import java.util.Locale;

/** Number formatting shared by the table, the JSON report and the chart. */
final class Format {
    private Format() {
    }

    /** 50 -> "50", 99.9 -> "99.9". */
    static String percentile(double p) {
        return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }

    /** A value for people: integers as is, others with three significant decimals at most. */
    static String human(Object value) {
        if (value instanceof Double d) {
            double a = Math.abs(d);
            if (a >= 100) {
                return String.format(Locale.ROOT, "%,.0f", d);
            }
            if (a >= 1) {
                return String.format(Locale.ROOT, "%.2f", d);
            }
            return String.format(Locale.ROOT, "%.3f", d);
        }
        if (value instanceof Long || value instanceof Integer) {
            return String.format(Locale.ROOT, "%,d", ((Number) value).longValue());
        }
        return String.valueOf(value);
    }
}
