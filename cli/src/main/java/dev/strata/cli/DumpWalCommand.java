package dev.strata.cli;

import dev.strata.wal.WalInspector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

/**
 * {@code strata dump-wal PATH}: the header slots, every record after the trim point (position,
 * generation, durable mark, the stream batch in it) and where the scan stops and why, as an open
 * would find them. Exit 1 if the WAL is damaged (truncated, a damaged header slot, acknowledged
 * data lost); a torn tail after a crash is not damage.
 */
@Command(name = "dump-wal", mixinStandardHelpOptions = true, description = "Header slots, records, durable marks, where the scan stops and why.")
final class DumpWalCommand extends BaseCommand {

    @Parameters(index = "0", paramLabel = "PATH", description = "the WAL file or block device")
    Path path;

    @Option(names = "--limit", paramLabel = "N", description = "records to print (default: all); the scan always runs to the end")
    long limit = Long.MAX_VALUE;

    @Override
    public Integer call() throws IOException {
        if (!Files.exists(path)) {
            throw new ParameterException(spec.commandLine(), "no such WAL file or device: " + path);
        }
        List<Object> records = new ArrayList<>();
        List<String> lines = new ArrayList<>(); // printed after the header slots
        long[] seen = new long[1];
        WalInspector.Result r = WalScan.scan(path, e -> {
            if (seen[0]++ >= limit) {
                return;
            }
            if (json) {
                records.add(e.toJson());
            } else {
                lines.add("record position=" + e.record().position() + " next=" + e.record().nextPosition()
                        + " generation=" + e.record().generation() + " durableMark=" + e.record().durableMark()
                        + " bytes=" + e.bodyBytes() + (e.streamId() == null ? " (not a stream batch)"
                        : " streamId=" + e.streamId() + " epoch=" + e.epoch() + " offsets=[" + e.baseOffset() + ","
                        + (e.baseOffset() + e.count()) + ")"));
            }
        }, problems);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("path", path.toString());
        doc.put("deviceBytes", r.deviceBytes());
        doc.put("blockDevice", r.blockDevice());
        doc.put("formatVersion", r.version());
        List<Object> slots = new ArrayList<>();
        for (WalInspector.Slot s : r.slots()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("slot", s.slot());
            m.put("deviceOffset", s.deviceOffset());
            m.put("state", s.state().name());
            m.put("detail", s.detail());
            m.put("header", WalScan.headerJson(s.header()));
            slots.add(m);
            text("slot " + s.slot() + " @" + s.deviceOffset() + ": " + s.state()
                    + (s.detail().isEmpty() ? "" : " (" + s.detail() + ")")
                    + (s.header() == null ? "" : " " + WalScan.headerText(s.header())));
        }
        doc.put("slots", slots);
        lines.forEach(this::text);
        doc.put("header", WalScan.headerJson(r.header()));
        doc.put("records", records);
        doc.put("scan", WalScan.scanJson(r.scan()));
        if (r.header() == null) {
            text("no valid header: " + (problems.isEmpty() ? "a new WAL, never opened" : "see the problems below"));
        } else {
            text("using the header of sequence " + r.header().sequence() + "; file " + r.deviceBytes() + " bytes"
                    + (r.blockDevice() ? " (block device)" : ", expected " + r.expectedBytes()));
            text("scan: from " + r.scan().startPosition() + " to " + r.scan().endPosition() + ", " + r.scan().records()
                    + " records, " + r.scan().bodyBytes() + " body bytes, stopped: " + r.scan().endReason()
                    + (r.scan().tornBytes() > 0 ? " (torn bytes " + r.scan().tornBytes() + ")" : "") + " - "
                    + r.scan().detail());
        }
        return finish(doc);
    }
}
