package dev.strata.cli;

import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.IndexEntry;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.StreamBatch;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

/**
 * {@code strata dump-stream ID --from A --to B [--hex|--text]}: the committed batches of a stream
 * that hold offsets in {@code [A, B)}, read from the objects: offsets, record counts, sizes, and
 * the payload as hex or UTF-8 text if asked. Data still only in a WAL is not shown.
 */
@Command(name = "dump-stream", mixinStandardHelpOptions = true, description = "Committed batches of one stream in [--from, --to): offsets, counts, sizes.")
final class DumpStreamCommand extends BaseCommand {

    @Mixin
    StoreOptions storeOptions;

    @Parameters(index = "0", paramLabel = "ID", description = "the stream id")
    long streamId;

    @Option(names = "--from", paramLabel = "OFFSET", description = "first offset (default: the stream's start)")
    Long from;

    @Option(names = "--to", paramLabel = "OFFSET", description = "end offset, exclusive (default: the committed end)")
    Long to;

    @ArgGroup(exclusive = true)
    PayloadFormat payload;

    static final class PayloadFormat {
        @Option(names = "--hex", description = "print each payload as hex")
        boolean hex;

        @Option(names = "--text", description = "print each payload as UTF-8 text")
        boolean text;
    }

    @Override
    public Integer call() {
        try (StoreAccess store = storeOptions.open()) {
            StreamMetadata s = store.manifest().stream(streamId).orElseThrow(() -> new ParameterException(
                    spec.commandLine(), "no stream " + streamId + " in the manifest"));
            long start = from != null ? from : s.startOffset();
            long end = to != null ? to : s.committedEndOffset();
            if (start < 0 || end < start) {
                throw new ParameterException(spec.commandLine(), "need 0 <= --from <= --to, got --from " + start
                        + " --to " + end);
            }
            text("stream " + streamId + " epoch=" + s.epoch() + " start=" + s.startOffset() + " committedEnd="
                    + s.committedEndOffset() + "; batches holding offsets [" + start + "," + end + ")");
            List<Object> batches = new ArrayList<>();
            long records = 0;
            if (end > start) {
                for (Map.Entry<StreamRange, ObjectMetadata> e : store.manifest().objectsCovering(streamId, start, end)) {
                    records += dumpObject(store, e.getValue(), start, end, batches);
                }
            }
            text(batches.size() + " batches, " + records + " records");
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("streamId", streamId);
            doc.put("from", start);
            doc.put("to", end);
            doc.put("batches", batches);
            return finish(doc);
        }
    }

    private long dumpObject(StoreAccess store, ObjectMetadata o, long start, long end, List<Object> batches) {
        ObjectReader reader = StoreAccess.await(ObjectReader.open(store.storage(), o.key(), o.sizeBytes()));
        long records = 0;
        List<IndexEntry> entries = reader.index().entries();
        for (int i = 0; i < entries.size(); i++) {
            IndexEntry e = entries.get(i);
            if (e.streamId() != streamId || e.endOffset() <= start || e.startOffset() >= end) {
                continue;
            }
            DataBlock block = StoreAccess.await(reader.readBlock(i));
            try {
                for (StreamBatch b : block.batches()) {
                    if (b.nextOffset() <= start || b.baseOffset() >= end) {
                        continue;
                    }
                    records += b.count();
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("baseOffset", b.baseOffset());
                    m.put("count", b.count());
                    m.put("epoch", b.epoch());
                    m.put("timestamp", b.baseTimestamp());
                    m.put("payloadBytes", b.payloadLength());
                    m.put("object", o.key());
                    m.put("block", i);
                    if (b.isEncrypted()) {
                        m.put("encrypted", true); // client-side encryption: the payload is an envelope, never shown as data
                    }
                    String shown = payload == null ? null : b.isEncrypted() ? "<encrypted>" : render(b.payload());
                    if (shown != null) {
                        m.put(payload.hex ? "hex" : "text", shown);
                    }
                    batches.add(m);
                    text("offsets=[" + b.baseOffset() + "," + b.nextOffset() + ") count=" + b.count() + " epoch="
                            + b.epoch() + " timestamp=" + b.baseTimestamp() + " bytes=" + b.payloadLength()
                            + " object=" + o.key() + " block=" + i + (b.isEncrypted() ? " encrypted" : "")
                            + (shown == null ? "" : " " + shown));
                }
            } finally {
                block.release();
            }
        }
        return records;
    }

    private String render(ByteBuf p) {
        if (payload.hex) {
            return ByteBufUtil.hexDump(p);
        }
        return p.toString(p.readerIndex(), p.readableBytes(), StandardCharsets.UTF_8);
    }
}
