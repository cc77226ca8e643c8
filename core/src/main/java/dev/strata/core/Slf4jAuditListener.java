package dev.strata.core;

import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default {@link AuditListener}: each event as one JSON line at INFO on the logger
 * {@value #LOGGER} (route or silence it in the logging configuration). Thread-safe, stateless.
 */
public final class Slf4jAuditListener implements AuditListener {
    /** The logger's name. */
    public static final String LOGGER = "dev.strata.audit";
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

    @Override
    public void onEvent(AuditEvent event) {
        if (LOG.isInfoEnabled()) {
            LOG.info(toJson(event));
        }
    }

    /** The event as one line of JSON (fields in a fixed order, details sorted by name). */
    public static String toJson(AuditEvent e) {
        StringBuilder sb = new StringBuilder(160);
        sb.append("{\"type\":\"").append(e.type()).append("\",\"timeMillis\":").append(e.timeMillis())
                .append(",\"nodeEpoch\":").append(e.nodeEpoch());
        if (e.streamId() >= 0) {
            sb.append(",\"streamId\":").append(e.streamId());
        }
        e.tenant().ifPresent(t -> quoted(sb.append(",\"tenant\":"), t));
        e.actor().ifPresent(a -> quoted(sb.append(",\"actor\":"), a));
        sb.append(",\"details\":{");
        boolean first = true;
        for (Map.Entry<String, String> d : new TreeMap<>(e.details()).entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            quoted(sb, d.getKey()).append(':');
            quoted(sb, d.getValue());
        }
        return sb.append("}}").toString();
    }

    private static StringBuilder quoted(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"');
    }
}
