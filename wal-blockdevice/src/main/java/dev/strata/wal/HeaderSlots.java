package dev.strata.wal;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes the WAL's two alternating header slots (layout: {@link WalHeaderDescriptor}).
 * Stateless; each call allocates its own aligned block, so concurrent calls on different slots
 * are safe, and the callers (open, the writer thread, close) never write the same slot at once.
 */
final class HeaderSlots {
    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceWal.class);

    private HeaderSlots() {
    }

    /**
     * Reads both header slots; the valid one with the higher sequence wins. Blank slots: a new WAL,
     * whose capacity is what the file holds (all of a block device).
     *
     * @throws UnsupportedWalFormatException no valid slot, and one was written in another format version
     * @throws CorruptDataException neither slot is valid and they are not blank
     * @throws StorageException the header's block size does not suit the device, or a blank file is
     *     too small for the configured capacity
     */
    static WalHeader read(WalFile file, WalOptions options) throws IOException {
        int bs = file.blockSize();
        WalHeader best = null;
        List<String> problems = new ArrayList<>();
        WalHeaderDescriptor.Unsupported unsupported = null;
        boolean blank = true;
        for (int slot = 0; slot < WalHeaderDescriptor.SLOTS; slot++) {
            ByteBuffer b = Buffers.allocateAligned(bs, bs);
            file.read(WalHeaderDescriptor.slotOffset(slot, bs), b);
            WalHeaderDescriptor.Decoded d = WalHeaderDescriptor.decode(b);
            if (d instanceof WalHeaderDescriptor.Valid v) {
                blank = false;
                if (best == null || v.header().sequence() > best.sequence()) {
                    best = v.header();
                }
            } else if (d instanceof WalHeaderDescriptor.Invalid inv) {
                blank = false;
                problems.add("slot" + slot + ": " + inv.reason());
            } else if (d instanceof WalHeaderDescriptor.Unsupported u) {
                blank = false;
                unsupported = u;
                problems.add("slot" + slot + ": unsupported version " + u.version());
            }
        }
        if (best == null && unsupported != null) {
            throw new UnsupportedWalFormatException(file.path().toString(), unsupported.version(),
                    WalHeaderDescriptor.VERSION);
        }
        if (best != null) {
            if (best.blockSize() < bs || best.blockSize() % bs != 0) {
                throw new StorageException("WAL block size incompatible with device: file=" + file.path()
                        + " headerBlockSize=" + best.blockSize() + " deviceBlockSize=" + bs, false);
            }
            if (!problems.isEmpty()) {
                LOG.warn("WAL header slot invalid, using the other: file={} {}", file.path(), problems);
            }
            if (best.capacity() != options.capacityBytes() && !file.blockDevice()) {
                LOG.info("WAL keeps the capacity it was created with: file={} capacity={} configured={}",
                        file.path(), best.capacity(), options.capacityBytes());
            }
            return best;
        }
        if (!blank) {
            throw new CorruptDataException("WAL header unreadable: file=" + file.path() + " " + problems);
        }
        long cap = WalMath.alignDown(file.deviceBytes() - WalHeaderDescriptor.dataOffset(bs), bs);
        if (!file.blockDevice() && cap < options.capacityBytes()) {
            // Never written by a WAL (no header) and short: an interrupted preallocation of an older
            // version (this one preallocates under another name), or a file that is not a WAL.
            throw new StorageException("WAL file smaller than configured and never initialized: file=" + file.path()
                    + " bytes=" + file.deviceBytes() + ", a WAL of capacity " + options.capacityBytes() + " needs "
                    + (WalHeaderDescriptor.dataOffset(bs) + options.capacityBytes()) + " bytes; it holds no WAL data"
                    + " (both header slots are blank): delete it and it is created anew", false);
        }
        if (cap < WalOptions.MIN_CAPACITY_BYTES) {
            throw new StorageException("WAL device too small: file=" + file.path() + " bytes=" + file.deviceBytes()
                    + ", at least " + (WalHeaderDescriptor.dataOffset(bs) + WalOptions.MIN_CAPACITY_BYTES) + " needed",
                    false);
        }
        return new WalHeader(bs, cap, 0, 0, 0, 0, 0, WalHeader.OPEN);
    }

    /** Writes {@code h} into its slot and syncs it: durable when this returns. */
    static void write(WalFile file, WalHeader h) throws IOException {
        ByteBuffer b = Buffers.allocateAligned(h.blockSize(), h.blockSize());
        WalHeaderDescriptor.encode(h, b, h.blockSize());
        file.writeDurably(WalHeaderDescriptor.slotOffset(h.slot(), h.blockSize()), b);
    }
}
