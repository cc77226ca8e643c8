package dev.strata.cli;

import dev.strata.api.CorruptDataException;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.WalInspector;
import dev.strata.wal.api.RecoveryReport;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Scans a WAL read-only ({@link WalInspector}) and judges what it finds: a truncated file, header
 * slots that are damaged or of an unknown version, acknowledged data lost inside the log, and
 * record bodies that are not intact stream batches are problems; a torn tail (writes in flight at
 * a crash, never acknowledged) is not. Not thread-safe.
 */
final class WalScan {

    /** One accepted record and the stream batch in its body (null fields if the body does not decode). */
    record Entry(WalInspector.Record record, Long streamId, Long epoch, Long baseOffset, Integer count,
            int bodyBytes) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("position", record.position());
            m.put("nextPosition", record.nextPosition());
            m.put("generation", record.generation());
            m.put("durableMark", record.durableMark());
            m.put("flags", record.flags());
            m.put("bodyBytes", bodyBytes);
            m.put("streamId", streamId);
            m.put("epoch", epoch);
            m.put("baseOffset", baseOffset);
            m.put("count", count);
            return m;
        }
    }

    private WalScan() {
    }

    /**
     * Scans {@code path}, handing each record to {@code onRecord}, and adds the problems found.
     *
     * @throws IOException if the WAL cannot be opened or read
     */
    static WalInspector.Result scan(Path path, Consumer<Entry> onRecord, List<Problem> problems) throws IOException {
        List<Problem> bodyProblems = new ArrayList<>();
        WalInspector.Result result = WalInspector.inspect(path, r -> {
            Entry e;
            try {
                StreamBatch b = StreamBatchCodec.read(Unpooled.wrappedBuffer(r.body()), "wal=" + path, r.position());
                e = new Entry(r, b.streamId(), b.epoch(), b.baseOffset(), b.count(), r.body().remaining());
            } catch (CorruptDataException ex) {
                bodyProblems.add(new Problem("wal-bad-batch", path.toString(), "position=" + r.position() + ": "
                        + ex.getMessage()));
                e = new Entry(r, null, null, null, null, r.body().remaining());
            }
            onRecord.accept(e);
        });
        String where = path.toString();
        boolean anyValid = false;
        for (WalInspector.Slot s : result.slots()) {
            anyValid |= s.state() == WalInspector.SlotState.VALID;
            if (s.state() == WalInspector.SlotState.UNSUPPORTED) {
                problems.add(new Problem("wal-unsupported-version", where, "header slot " + s.slot() + " has format "
                        + s.detail() + "; this build reads version " + result.version()));
            }
        }
        if (!anyValid) {
            boolean blank = result.slots().stream().allMatch(s -> s.state() == WalInspector.SlotState.EMPTY);
            if (!blank) {
                problems.add(new Problem("wal-header-unreadable", where, "no valid header slot: " + slotSummary(result)));
            }
        } else if (result.slots().stream().anyMatch(s -> s.state() == WalInspector.SlotState.INVALID)) {
            // the other slot is intact and the WAL opens; still damage an operator should know of
            problems.add(new Problem("wal-header-slot-damaged", where, slotSummary(result)));
        }
        if (result.truncated()) {
            problems.add(new Problem("wal-truncated", where, "file has " + result.deviceBytes() + " bytes, its header"
                    + " (capacity " + result.header().capacity() + ") needs " + result.expectedBytes()));
        }
        RecoveryReport scan = result.scan();
        if (scan != null) {
            for (RecoveryReport.LostRegion r : scan.lostRegions()) {
                problems.add(new Problem("wal-lost-data", where, "acknowledged bytes [" + r.position() + ","
                        + r.endPosition() + ") lost: found=" + r.found() + " " + r.detail()));
            }
            if (scan.lostRegions().isEmpty() && result.header().closedEnd() >= 0
                    && scan.endPosition() < result.header().closedEnd()) {
                problems.add(new Problem("wal-lost-data", where, "the scan ended at position=" + scan.endPosition()
                        + " before the clean close's end closedEnd=" + result.header().closedEnd() + ": "
                        + scan.endReason() + " " + scan.detail()));
            }
        }
        problems.addAll(bodyProblems);
        return result;
    }

    private static String slotSummary(WalInspector.Result result) {
        StringBuilder sb = new StringBuilder();
        for (WalInspector.Slot s : result.slots()) {
            if (sb.length() > 0) {
                sb.append("; ");
            }
            sb.append("slot").append(s.slot()).append('=').append(s.state());
            if (!s.detail().isEmpty()) {
                sb.append(" (").append(s.detail()).append(')');
            }
        }
        return sb.toString();
    }

    static Map<String, Object> headerJson(WalInspector.Header h) {
        if (h == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("blockSize", h.blockSize());
        m.put("capacity", h.capacity());
        m.put("sequence", h.sequence());
        m.put("trimPosition", h.trimPosition());
        m.put("generation", h.generation());
        m.put("generationStart", h.generationStart());
        m.put("nodeEpoch", h.nodeEpoch());
        m.put("closedEnd", h.closedEnd());
        return m;
    }

    static String headerText(WalInspector.Header h) {
        return "blockSize=" + h.blockSize() + " capacity=" + h.capacity() + " sequence=" + h.sequence()
                + " trimPosition=" + h.trimPosition() + " generation=" + h.generation() + " generationStart="
                + h.generationStart() + " nodeEpoch=" + h.nodeEpoch() + " closedEnd="
                + (h.closedEnd() < 0 ? "open (not closed cleanly)" : Long.toString(h.closedEnd()));
    }

    static Map<String, Object> scanJson(RecoveryReport r) {
        if (r == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("startPosition", r.startPosition());
        m.put("endPosition", r.endPosition());
        m.put("records", r.records());
        m.put("bodyBytes", r.bodyBytes());
        m.put("tornBytes", r.tornBytes());
        m.put("stopReason", r.stopReason().name());
        m.put("endReason", r.endReason().name());
        m.put("detail", r.detail());
        List<Object> lost = new ArrayList<>();
        for (RecoveryReport.LostRegion l : r.lostRegions()) {
            Map<String, Object> lm = new LinkedHashMap<>();
            lm.put("position", l.position());
            lm.put("endPosition", l.endPosition());
            lm.put("found", l.found().name());
            lm.put("detail", l.detail());
            lost.add(lm);
        }
        m.put("lostRegions", lost);
        return m;
    }
}
