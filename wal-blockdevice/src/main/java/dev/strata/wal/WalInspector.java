package dev.strata.wal;

import dev.strata.wal.api.RecoveryReport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Read-only view of a WAL file or device for inspection tools (the {@code strata dump-wal} and
 * {@code verify} commands): both header slots, every record the recovery scan accepts (with its
 * generation and durable mark), and where and why the scan stops, exactly as an open would find
 * them ({@link RecordScanner}, the same rules).
 *
 * <p>Takes no {@link OwnershipLock} and writes nothing: it may run while the WAL is open in another
 * process, and then shows the log as the bytes on the device are at the moment they are read (a
 * write landing during the scan may show as a torn tail). Opens the file without O_DIRECT.
 *
 * <p>Stateless and thread-safe; each call opens and closes the file.
 */
public final class WalInspector {

    /** Read-buffer size for record bodies the scan starts with; it grows for larger records. */
    private static final int INITIAL_MAX_RECORD_BYTES = 1 << 20;

    private WalInspector() {
    }

    /** The fields of a valid header slot ({@link WalHeaderDescriptor} documents each). */
    public record Header(int blockSize, long capacity, long sequence, long trimPosition, long generation,
            long generationStart, long nodeEpoch, long closedEnd) {
    }

    /** What one header slot holds. */
    public enum SlotState {
        /** Magic, CRC and version are right. */
        VALID,
        /** All zeros: never written. */
        EMPTY,
        /** Bad magic or CRC: a torn or damaged header write. */
        INVALID,
        /** Intact, but a format version this build does not read. */
        UNSUPPORTED
    }

    /**
     * One header slot.
     *
     * @param slot 0 or 1
     * @param deviceOffset byte offset of the slot on the device
     * @param state what it holds
     * @param detail why it is invalid, the unsupported version, or empty
     * @param header the decoded header if {@code state} is VALID, else null
     */
    public record Slot(int slot, long deviceOffset, SlotState state, String detail, Header header) {
    }

    /**
     * One data record the scan accepted.
     *
     * @param position logical position of the record's first byte
     * @param nextPosition where the next record starts
     * @param generation the generation that wrote it
     * @param durableMark end of the durable prefix when its write was submitted
     * @param flags the record's flags (bit 0: last in its write)
     * @param body the body, read-only and valid only during the callback
     */
    public record Record(long position, long nextPosition, long generation, long durableMark, int flags,
            ByteBuffer body) {
    }

    /**
     * What the inspection found.
     *
     * @param path the file or device
     * @param deviceBytes its size in bytes
     * @param blockDevice whether it is a block device
     * @param version the WAL format version this build reads
     * @param slots both header slots
     * @param header the header an open would use (the valid slot with the higher sequence), or null
     * @param expectedBytes bytes a file WAL of the header's capacity occupies (header slots plus
     *     ring), or -1 without a header
     * @param scan the recovery scan's report, or null when there is no valid header
     */
    public record Result(Path path, long deviceBytes, boolean blockDevice, int version, List<Slot> slots,
            Header header, long expectedBytes, RecoveryReport scan) {
        public Result {
            slots = List.copyOf(slots);
        }

        /** Whether the WAL is shorter than its header says (truncated). */
        public boolean truncated() {
            return header != null && deviceBytes < expectedBytes;
        }
    }

    /**
     * Reads both header slots and scans the records from the trim point, handing each to
     * {@code visitor} in log order.
     *
     * @throws IOException if the file cannot be opened or read
     */
    public static Result inspect(Path path, Consumer<Record> visitor) throws IOException {
        try (WalFile file = WalFile.openReadOnly(path)) {
            int bs = file.blockSize();
            List<Slot> slots = new ArrayList<>();
            WalHeader best = null;
            for (int slot = 0; slot < WalHeaderDescriptor.SLOTS; slot++) {
                ByteBuffer b = ByteBuffer.allocate(bs);
                long offset = WalHeaderDescriptor.slotOffset(slot, bs);
                file.read(offset, b);
                WalHeaderDescriptor.Decoded d = WalHeaderDescriptor.decode(b.clear());
                if (d instanceof WalHeaderDescriptor.Valid v) {
                    slots.add(new Slot(slot, offset, SlotState.VALID, "", header(v.header())));
                    if (best == null || v.header().sequence() > best.sequence()) {
                        best = v.header();
                    }
                } else if (d instanceof WalHeaderDescriptor.Invalid inv) {
                    slots.add(new Slot(slot, offset, SlotState.INVALID, inv.reason(), null));
                } else if (d instanceof WalHeaderDescriptor.Unsupported u) {
                    slots.add(new Slot(slot, offset, SlotState.UNSUPPORTED, "version " + u.version(), null));
                } else {
                    slots.add(new Slot(slot, offset, SlotState.EMPTY, "", null));
                }
            }
            if (best == null) {
                return new Result(path, file.deviceBytes(), file.blockDevice(), WalHeaderDescriptor.VERSION, slots,
                        null, -1, null);
            }
            int hbs = best.blockSize();
            long dataOffset = WalHeaderDescriptor.dataOffset(hbs);
            RecordScanner.Params params = new RecordScanner.Params(hbs, best.capacity(), dataOffset,
                    best.trimPosition(), best.generation(), best.generationStart(), best.closedEnd());
            RecordScanner scanner = new RecordScanner(file, params, INITIAL_MAX_RECORD_BYTES, -1, null);
            ByteBuffer header = ByteBuffer.allocate(WalRecordDescriptor.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (scanner.next()) {
                long position = scanner.recordPosition();
                header.clear();
                file.read(dataOffset + position % best.capacity(), header);
                visitor.accept(new Record(position, scanner.recordNextPosition(),
                        header.getLong(WalRecordDescriptor.GENERATION_OFFSET),
                        header.getLong(WalRecordDescriptor.DURABLE_MARK_OFFSET),
                        header.getInt(WalRecordDescriptor.FLAGS_OFFSET), scanner.recordBody().asReadOnlyBuffer()));
            }
            return new Result(path, file.deviceBytes(), file.blockDevice(), WalHeaderDescriptor.VERSION, slots,
                    header(best), dataOffset + best.capacity(), scanner.report(best.nodeEpoch()));
        }
    }

    private static Header header(WalHeader h) {
        return new Header(h.blockSize(), h.capacity(), h.sequence(), h.trimPosition(), h.generation(),
                h.generationStart(), h.nodeEpoch(), h.closedEnd());
    }
}
