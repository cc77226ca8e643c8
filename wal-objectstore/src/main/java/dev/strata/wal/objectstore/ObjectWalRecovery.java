package dev.strata.wal.objectstore;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Iterator over the records of an {@link ObjectStoreWal}'s chain after its trim point, in order.
 * Reads whole objects, a few ahead of the one being returned; checks each object's header against
 * the one read at open and its body CRC, and each record's CRC. Each {@link WalRecord#body()} is a
 * slice of the object's buffer owned by the caller, who must release it. Not thread-safe.
 * {@link #close()} is idempotent and needed only to stop early.
 *
 * <p>Failure: a read error surfaces as {@link StorageException} (an object trimmed and deleted
 * while iterating as {@code ObjectNotFoundException}), damaged or changed bytes as
 * {@link CorruptDataException}, from {@link #hasNext()} or {@link #next()}. A corrupt record is
 * never returned.
 *
 * <p>Has the methods of {@code dev.strata.wal.WalRecovery} (see {@link ObjectStoreWal} on why it
 * does not extend it yet).
 */
public final class ObjectWalRecovery implements WalRecovery {

    /** What the iteration returned, given to the WAL when it ends. */
    record Counts(long records, long bodyBytes) {
    }

    private final ObjectStorage storage;
    private final WalObjectKeys keys;
    private final List<WalObjectHeader> objects;
    private final long fromPosition;
    private final int readAhead;
    private final Function<Counts, RecoveryReport> onEnd;
    private RecoveryReport report;
    private final ArrayDeque<CompletableFuture<ObjectData>> fetching = new ArrayDeque<>();
    private int requested;
    private int consumed;

    private ObjectData current;
    private WalObjectHeader currentHeader;
    private int offset; // in the current object's buffer
    private int recordsLeft;
    private WalRecord next;
    private boolean done;
    private long records;
    private long bodyBytes;
    private boolean ended;

    ObjectWalRecovery(ObjectStorage storage, WalObjectKeys keys, List<WalObjectHeader> objects, long fromPosition,
            int readAhead, Function<Counts, RecoveryReport> onEnd) {
        this.storage = storage;
        this.keys = keys;
        this.objects = List.copyOf(objects);
        this.fromPosition = fromPosition;
        this.readAhead = readAhead;
        this.onEnd = onEnd;
    }

    /**
     * What this iteration found (records, bytes, where the log ends and why); available once
     * {@link #hasNext()} returned false.
     *
     * @throws IllegalStateException if this iterator is still iterating (or was closed early)
     */
    public RecoveryReport report() {
        if (report == null) {
            throw new IllegalStateException("recovery report available once iteration ended: objectsRead="
                    + consumed + " of " + objects.size());
        }
        return report;
    }

    /**
     * Lost regions skipped so far: always empty (a damaged object of the chain fails the iteration
     * with {@link CorruptDataException} instead of being skipped).
     */
    public List<RecoveryReport.LostRegion> lostRegionsSoFar() {
        return List.of();
    }

    @Override
    public boolean hasNext() {
        if (next != null) {
            return true;
        }
        if (done) {
            return false;
        }
        try {
            return advance();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private boolean advance() {
        while (true) {
            if (current == null) {
                if (consumed == objects.size()) {
                    done = true;
                    if (!ended) {
                        ended = true;
                        report = onEnd.apply(new Counts(records, bodyBytes));
                    }
                    return false;
                }
                fill();
                currentHeader = objects.get(consumed++);
                current = Await.join(fetching.poll());
                fill();
                check(current, currentHeader);
                offset = WalObjectDescriptor.HEADER_BYTES;
                recordsLeft = currentHeader.recordCount();
            }
            if (recordsLeft == 0) {
                current.release();
                current = null;
                continue;
            }
            ByteBuf buf = current.content();
            String key = keys.key(currentHeader.sequence());
            int end = WalObjectDescriptor.HEADER_BYTES + currentHeader.bodyLength();
            if (end - offset < WalObjectDescriptor.RECORD_FRAME_BYTES) {
                throw new CorruptDataException("WAL object record frame past the body: key=" + key + " offset=" + offset);
            }
            int length = buf.getInt(buf.readerIndex() + offset + WalObjectDescriptor.RECORD_LENGTH_OFFSET);
            int stored = buf.getInt(buf.readerIndex() + offset + WalObjectDescriptor.RECORD_CRC_OFFSET);
            int bodyAt = offset + WalObjectDescriptor.RECORD_FRAME_BYTES;
            if (length < 0 || length > end - bodyAt) {
                throw new CorruptDataException("WAL object record length invalid: key=" + key + " offset=" + offset
                        + " length=" + length + " bodyEnd=" + end);
            }
            int computed = WalObjectDescriptor.crc(buf, buf.readerIndex() + bodyAt, length);
            if (computed != stored) {
                throw new CorruptDataException("WAL record CRC mismatch: key=" + key + " offset=" + offset
                        + " stored=0x" + Integer.toHexString(stored) + " computed=0x" + Integer.toHexString(computed));
            }
            long position = currentHeader.basePosition() + offset - WalObjectDescriptor.HEADER_BYTES;
            long nextPosition = position + WalObjectDescriptor.RECORD_FRAME_BYTES + length;
            offset = bodyAt + length;
            recordsLeft--;
            if (recordsLeft == 0 && offset != end) {
                throw new CorruptDataException("WAL object body longer than its records: key=" + key + " recordsEnd="
                        + offset + " bodyEnd=" + end);
            }
            if (position >= fromPosition) {
                next = new WalRecord(position, nextPosition, buf.retainedSlice(buf.readerIndex() + bodyAt, length));
                records++;
                bodyBytes += length;
                return true;
            }
        }
    }

    /** The object must be the one whose header was read at open, with an intact body. */
    private void check(ObjectData data, WalObjectHeader expected) {
        String key = keys.key(expected.sequence());
        WalObjectHeader h = WalObjectDescriptor.readHeader(data.content(), key);
        if (!h.equals(expected)) {
            throw new CorruptDataException("WAL object changed since open: key=" + key + " atOpen=" + expected
                    + " now=" + h);
        }
        int size = data.content().readableBytes();
        if (size != WalObjectDescriptor.HEADER_BYTES + h.bodyLength()) {
            throw new CorruptDataException("WAL object size mismatch: key=" + key + " size=" + size + " expected="
                    + (WalObjectDescriptor.HEADER_BYTES + h.bodyLength()));
        }
        int computed = WalObjectDescriptor.crc(data.content(),
                data.content().readerIndex() + WalObjectDescriptor.HEADER_BYTES, h.bodyLength());
        if (computed != h.bodyCrc()) {
            throw new CorruptDataException("WAL object body CRC mismatch: key=" + key + " stored=0x"
                    + Integer.toHexString(h.bodyCrc()) + " computed=0x" + Integer.toHexString(computed));
        }
    }

    private void fill() {
        while (requested < objects.size() && requested - consumed < readAhead) {
            fetching.add(storage.get(keys.key(objects.get(requested++).sequence()), ByteRange.all()));
        }
    }

    @Override
    public WalRecord next() {
        if (!hasNext()) {
            throw new NoSuchElementException("no more WAL records");
        }
        WalRecord r = next;
        next = null;
        return r;
    }

    /** Stops iterating; releases the object being read, a fetched record not returned, and reads ahead. */
    @Override
    public void close() {
        done = true;
        if (next != null) {
            next.body().release();
            next = null;
        }
        if (current != null) {
            current.release();
            current = null;
        }
        CompletableFuture<ObjectData> f;
        while ((f = fetching.poll()) != null) {
            f.whenComplete((d, e) -> {
                if (d != null) {
                    d.release();
                }
            });
        }
    }
}
