package dev.strata.wal;

import dev.strata.wal.WalTesting.Rec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What recovery must return from a damaged copy of a WAL, worked out independently of
 * {@link RecordScanner}: walks the record chain of the intact original (the bytes as written),
 * marks every record whose bytes differ in the damaged copy, and applies the recovery rule of
 * {@link WalRecordDescriptor} to that list (with the header's clean-close end, if any). Single
 * generation, one lap or several.
 */
final class RecoveryOracle {

    /** One record header of the intact chain, and whether the damaged copy still holds it. */
    record Entry(long position, long next, boolean padding, long durableMark, byte[] body, boolean headerIntact,
            boolean intact) {
    }

    /** The expected outcome: records returned, lost regions {@code [from, to)}, end position. */
    record Expected(List<Rec> records, List<long[]> lost, long end) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("Expected{records=" + records.size() + " end=" + end + " lost=");
            for (long[] l : lost) {
                sb.append('[').append(l[0]).append(", ").append(l[1]).append(')');
            }
            return sb.append('}').toString();
        }
    }

    private final long closedEnd;
    private final byte[] original;
    private final byte[] damaged;
    private final int blockSize;
    private final long capacity;
    private final long dataOffset;

    RecoveryOracle(Path original, Path damaged, int blockSize, long capacity) throws IOException {
        this.original = Files.readAllBytes(original);
        this.damaged = Files.readAllBytes(damaged);
        this.blockSize = blockSize;
        this.capacity = capacity;
        this.dataOffset = 2L * blockSize;
        this.closedEnd = closedEnd(this.original, blockSize);
    }

    /** The clean-close end recorded in the newest valid header slot of {@code file}, or -1. */
    static long closedEnd(byte[] file, int blockSize) {
        WalHeader best = null;
        for (int slot = 0; slot < WalHeaderDescriptor.SLOTS; slot++) {
            ByteBuffer b = ByteBuffer.wrap(file, slot * blockSize, blockSize).slice();
            if (WalHeaderDescriptor.decode(b) instanceof WalHeaderDescriptor.Valid v
                    && (best == null || v.header().sequence() > best.sequence())) {
                best = v.header();
            }
        }
        return best == null ? -1 : best.closedEnd();
    }

    /** The intact chain from {@code start}, with each entry's state in the damaged copy. */
    List<Entry> chain(long start) {
        List<Entry> out = new ArrayList<>();
        long pos = start;
        while (true) {
            ByteBuffer h = read(original, pos, WalRecordDescriptor.HEADER_BYTES);
            if (h.getInt(WalRecordDescriptor.MAGIC_OFFSET) != WalRecordDescriptor.MAGIC
                    || h.getInt(WalRecordDescriptor.HEADER_CRC_OFFSET) != WalRecordDescriptor.headerCrc(h, 0)
                    || h.getLong(WalRecordDescriptor.POSITION_OFFSET) != pos) {
                return out;
            }
            int flags = h.getInt(WalRecordDescriptor.FLAGS_OFFSET);
            int length = h.getInt(WalRecordDescriptor.LENGTH_OFFSET);
            boolean padding = (flags & WalRecordDescriptor.FLAG_PADDING) != 0;
            int written = WalRecordDescriptor.HEADER_BYTES + (padding ? 0 : length);
            byte[] before = read(original, pos, written).array();
            byte[] after = read(damaged, pos, written).array();
            boolean headerIntact = Arrays.equals(before, 0, WalRecordDescriptor.HEADER_BYTES, after, 0,
                    WalRecordDescriptor.HEADER_BYTES);
            byte[] body = padding ? new byte[0] : Arrays.copyOfRange(before, WalRecordDescriptor.HEADER_BYTES, written);
            long next = WalRecordDescriptor.nextPosition(pos, flags, length, blockSize);
            out.add(new Entry(pos, next, padding, h.getLong(WalRecordDescriptor.DURABLE_MARK_OFFSET), body,
                    headerIntact, Arrays.equals(before, after)));
            pos = next;
        }
    }

    /** Applies the recovery rule to the chain from {@code start}. */
    Expected expected(long start) {
        List<Entry> chain = chain(start);
        List<Rec> records = new ArrayList<>();
        List<long[]> lost = new ArrayList<>();
        int i = 0;
        long end = start;
        outer:
        while (i < chain.size()) {
            Entry e = chain.get(i);
            if (e.intact()) {
                if (!e.padding()) {
                    records.add(new Rec(e.position(), e.next(), e.body()));
                }
                end = e.next();
                i++;
                continue;
            }
            long a = e.position();
            int j = i + 1;
            while (j < chain.size() && !chain.get(j).intact()) {
                j++;
            }
            // a later header at a block boundary, intact, whose durable mark (or the clean close's end)
            // covers the resume point
            for (int k = i + 1; k < chain.size(); k++) {
                Entry c = chain.get(k);
                long mark = Math.max(c.durableMark(), closedEnd);
                if (!c.headerIntact() || c.position() % blockSize != 0 || mark <= a) {
                    continue;
                }
                int resume = j < chain.size() && j <= k ? j : k;
                if (mark >= chain.get(resume).position()) {
                    lost.add(new long[] {a, chain.get(resume).position()});
                    i = resume;
                    end = chain.get(resume).position();
                    continue outer;
                }
            }
            // no later record proves it, but a clean close does: resume at the next intact record before the end
            if (closedEnd > a && j < chain.size() && chain.get(j).position() < closedEnd) {
                lost.add(new long[] {a, chain.get(j).position()});
                i = j;
                end = chain.get(j).position();
                continue;
            }
            // no proof: a torn tail; the scan ends at a, but a partly proven region is still listed
            long maxMark = closedEnd;
            for (int k = i + 1; k < chain.size(); k++) {
                Entry c = chain.get(k);
                if (c.headerIntact() && c.position() % blockSize == 0) {
                    maxMark = Math.max(maxMark, c.durableMark());
                }
            }
            if (maxMark > a) {
                lost.add(new long[] {a, maxMark});
            }
            return new Expected(records, lost, a);
        }
        return new Expected(records, lost, end);
    }

    private ByteBuffer read(byte[] file, long pos, int len) {
        byte[] out = new byte[len];
        long off = dataOffset + pos % capacity;
        for (int i = 0; i < len; i++) {
            long at = off + i;
            out[i] = at < file.length ? file[(int) at] : 0; // bytes past a truncated end read as zeros
        }
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    }
}
