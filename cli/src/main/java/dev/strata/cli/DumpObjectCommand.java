package dev.strata.cli;

import dev.strata.api.CorruptDataException;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.format.CompressionCodec;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.DataBlockDescriptor;
import dev.strata.objectstore.format.IndexEntry;
import dev.strata.objectstore.format.ObjectFooterDescriptor;
import dev.strata.objectstore.format.ObjectReader;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code strata dump-object KEY}: the object's footer, its index, and each block's header (codec,
 * raw and stored length, records) and whether it reads back intact. Exit 1 if anything is damaged.
 */
@Command(name = "dump-object", mixinStandardHelpOptions = true, description = "Footer, index, blocks and codecs of one object.")
final class DumpObjectCommand extends BaseCommand {

    @Mixin
    StoreOptions storeOptions;

    @Parameters(index = "0", paramLabel = "KEY", description = "the object's key, e.g. 9f3a/sso/00000004294967296")
    String key;

    @Override
    public Integer call() {
        try (StoreAccess store = storeOptions.open()) {
            ObjectInfo info = StoreAccess.await(store.storage().head(key));
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("key", key);
            doc.put("size", info.size());
            text("object " + key + " size=" + info.size());
            if (info.size() >= ObjectFooterDescriptor.FOOTER_SIZE) {
                ByteBuf f = read(store, ByteRange.suffix(ObjectFooterDescriptor.FOOTER_SIZE));
                try {
                    int at = f.readerIndex();
                    Map<String, Object> footer = new LinkedHashMap<>();
                    footer.put("indexPosition", f.getLong(at + ObjectFooterDescriptor.INDEX_POSITION_OFFSET));
                    footer.put("indexLength", f.getInt(at + ObjectFooterDescriptor.INDEX_LENGTH_OFFSET));
                    footer.put("indexCrc", Integer.toHexString(f.getInt(at + ObjectFooterDescriptor.INDEX_CRC_OFFSET)));
                    footer.put("entries", f.getInt(at + ObjectFooterDescriptor.ENTRY_COUNT_OFFSET));
                    footer.put("version", (int) f.getShort(at + ObjectFooterDescriptor.VERSION_OFFSET));
                    footer.put("flags", (int) f.getShort(at + ObjectFooterDescriptor.FLAGS_OFFSET));
                    footer.put("crc", Integer.toHexString(f.getInt(at + ObjectFooterDescriptor.CRC_OFFSET)));
                    footer.put("magic", Integer.toHexString(f.getInt(at + ObjectFooterDescriptor.MAGIC_OFFSET)));
                    doc.put("footer", footer);
                    text("footer: " + footer);
                } finally {
                    f.release();
                }
            }
            ObjectReader reader;
            try {
                reader = StoreAccess.await(ObjectReader.open(store.storage(), key, info.size()));
            } catch (CorruptDataException e) {
                problems.add(new Problem("corrupt-object", key, e.getMessage()));
                return finish(doc);
            }
            List<IndexEntry> entries = reader.index().entries();
            List<Object> blocks = new ArrayList<>();
            Map<String, Integer> codecs = new LinkedHashMap<>();
            for (int i = 0; i < entries.size(); i++) {
                IndexEntry e = entries.get(i);
                Map<String, Object> b = new LinkedHashMap<>();
                b.put("block", i);
                b.put("streamId", e.streamId());
                b.put("startOffset", e.startOffset());
                b.put("endOffset", e.endOffset());
                b.put("records", e.recordCount());
                b.put("position", e.position());
                b.put("size", e.size());
                ByteBuf h = read(store, ByteRange.of(e.position(), Math.min(e.size(), DataBlockDescriptor.HEADER_SIZE)));
                String codec;
                try {
                    if (h.readableBytes() < DataBlockDescriptor.HEADER_SIZE) {
                        codec = "?";
                    } else {
                        int at = h.readerIndex();
                        CompressionCodec c = CompressionCodec.fromId(h.getByte(at + DataBlockDescriptor.CODEC_OFFSET));
                        codec = c == null ? "unknown(" + h.getByte(at + DataBlockDescriptor.CODEC_OFFSET) + ")" : c.name();
                        b.put("rawLength", h.getInt(at + DataBlockDescriptor.RAW_LENGTH_OFFSET));
                        b.put("storedLength", h.getInt(at + DataBlockDescriptor.STORED_LENGTH_OFFSET));
                    }
                } finally {
                    h.release();
                }
                b.put("codec", codec);
                codecs.merge(codec, 1, Integer::sum);
                String status = "ok";
                try {
                    DataBlock block = StoreAccess.await(reader.readBlock(i));
                    b.put("batches", block.batches().size());
                    block.release();
                } catch (CorruptDataException ex) {
                    status = "CORRUPT";
                    problems.add(new Problem("corrupt-block", key, "block=" + i + " streamId=" + e.streamId()
                            + " offsets=[" + e.startOffset() + "," + e.endOffset() + ") position=" + e.position()
                            + ": " + ex.getMessage()));
                }
                b.put("status", status);
                blocks.add(b);
                text("block " + i + ": streamId=" + e.streamId() + " offsets=[" + e.startOffset() + "," + e.endOffset()
                        + ") records=" + e.recordCount() + " position=" + e.position() + " size=" + e.size() + " codec="
                        + codec + " raw=" + b.get("rawLength") + " stored=" + b.get("storedLength") + " " + status);
            }
            doc.put("blocks", blocks);
            doc.put("codecs", codecs);
            text("codecs: " + codecs);
            return finish(doc);
        }
    }

    private ByteBuf read(StoreAccess store, ByteRange range) {
        ObjectData data = StoreAccess.await(store.storage().get(key, range));
        return data.content();
    }
}
