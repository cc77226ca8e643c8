package dev.strata.wal.objectstore;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectNotFoundException;
import dev.strata.objectstore.ObjectStorage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Finds the log's chain at open, by reading object headers only: the contiguous run of objects
 * {@code [trimSequence, top]} that holds every acknowledged record after the trim point. Blocking;
 * not thread-safe; one use per instance.
 *
 * <p>The rule (the reasoning is in {@link ObjectStoreWal}'s design comment, "Recovery"): a candidate
 * top {@code c} is valid when every sequence from the trim sequence in {@code c}'s header up to
 * {@code c} exists and each object continues the one before it (same or higher epoch, its base
 * position equal to the previous end position). The walk starts at the highest object found (the
 * listing's highest, then HEAD-probed upwards until one is absent, because a listing may lag) and
 * goes down past every break; the first valid candidate is the chain. At the first missing object
 * of a walk the prefix is listed again: objects above the highest one known mean a live writer
 * moved on (and may have deleted what was missing below its new trim point), so the walk starts
 * over. An object above the chain
 * (after a gap, or with a lower epoch than the one before it) was never acknowledged.
 */
final class LogFinder {
    /** Headers fetched at once while checking a candidate chain. */
    private static final int HEADER_READS_IN_FLIGHT = 32;
    /** Listings before giving up on a log that keeps changing (a live writer racing the opener). */
    private static final int MAX_LISTINGS = 100;

    private final ObjectStorage storage;
    private final WalObjectKeys keys;
    private final TreeSet<Long> listed = new TreeSet<>();
    /** Headers read so far; empty Optional: the object does not exist. */
    private final Map<Long, Optional<WalObjectHeader>> headers = new HashMap<>();
    private long maxEpochSeen;
    private final StringBuilder detail = new StringBuilder();

    LogFinder(ObjectStorage storage, WalObjectKeys keys) {
        this.storage = storage;
        this.keys = keys;
    }

    /** What {@link #find()} found. */
    record Found(List<WalObjectHeader> chain, long trimSequence, long trimPosition, long nextSequence,
            long endPosition, long topEpoch, long maxEpochSeen, List<Long> listed, String detail) {
    }

    Found find() {
        for (int listing = 1; ; listing++) {
            Found f = walk();
            if (f != null) {
                return f;
            }
            if (listing >= MAX_LISTINGS) {
                throw new StorageException("object-store WAL: the log kept changing while it was being found: prefix="
                        + keys.listPrefix() + " listings=" + listing + " detail=" + detail, true);
            }
        }
    }

    /** One listing and walk; null if an object was missing and a new listing shows the log moved on. */
    private Found walk() {
        listed.clear();
        headers.entrySet().removeIf(e -> e.getValue().isEmpty()); // absences are read again
        for (ObjectInfo info : Await.join(storage.list(keys.listPrefix()))) {
            OptionalLong seq = keys.sequenceOf(info.key());
            if (seq.isPresent()) {
                listed.add(seq.getAsLong());
            }
        }
        if (listed.isEmpty()) {
            detail.append("no WAL object listed; ");
            return fresh(0);
        }
        long c = probeUp(listed.last());
        long highestTop = c;
        boolean relisted = false;
        while (true) {
            long top = c;
            Optional<WalObjectHeader> found = header(top);
            long breakAt = -1; // the highest sequence that does not continue the chain below it
            boolean gap = false;
            String why = null;
            WalObjectHeader topHeader = null;
            long t = top;
            if (found.isEmpty()) { // listed, then deleted (a live writer's trim, or an opener's cleanup)
                breakAt = top + 1;
                gap = true;
                why = "sequence " + top + " listed but gone";
            } else {
                topHeader = found.get();
                t = topHeader.trimSequence();
                fetchHeaders(t, top);
                for (long s = top; s > t; s--) {
                    Optional<WalObjectHeader> below = header(s - 1);
                    WalObjectHeader h = header(s).orElseThrow(); // seen present in the step before
                    if (below.isEmpty()) {
                        breakAt = s;
                        gap = true;
                        why = "sequence " + (s - 1) + " absent below " + s;
                        break;
                    }
                    WalObjectHeader b = below.get();
                    if (b.nodeEpoch() > h.nodeEpoch() || b.endPosition() != h.basePosition()) {
                        breakAt = s;
                        why = "sequence " + s + " (epoch " + h.nodeEpoch() + ", base " + h.basePosition()
                                + ") does not continue " + (s - 1) + " (epoch " + b.nodeEpoch() + ", end "
                                + b.endPosition() + ")";
                        break;
                    }
                }
            }
            if (breakAt < 0) {
                List<WalObjectHeader> chain = new ArrayList<>();
                for (long s = t; s <= top; s++) {
                    chain.add(header(s).orElseThrow());
                }
                detail.append("chain [").append(t).append(", ").append(top).append("] ends at sequence ")
                        .append(top).append(": ").append(top + 1).append(" absent after probing");
                return new Found(chain, t, topHeader.trimPosition(), top + 1, topHeader.endPosition(),
                        topHeader.nodeEpoch(), maxEpochSeen, List.copyOf(listed), detail.toString());
            }
            detail.append("candidate ").append(top).append(" rejected: ").append(why).append("; ");
            // A live writer may have written above the highest object, then deleted objects below its
            // new trim point: the gap is then no end of the log. A new listing tells (once per walk).
            if (gap && !relisted) {
                relisted = true;
                long before = highestTop;
                List<ObjectInfo> again = Await.join(storage.list(keys.listPrefix()));
                for (ObjectInfo info : again) {
                    OptionalLong seq = keys.sequenceOf(info.key());
                    if (seq.isPresent() && seq.getAsLong() > before) {
                        detail.append("objects above ").append(before).append(" appeared: listing again; ");
                        return null;
                    }
                }
            }
            // Next candidate: below an epoch or position break, the object under it; below a missing
            // object, the highest one under it, found by listing, then probing up to the gap.
            if (!gap) {
                c = breakAt - 1;
            } else {
                long missing = breakAt - 1;
                Long lower = listed.lower(missing);
                if (lower == null) {
                    return fresh(listed.last() + 1);
                }
                c = lower;
                while (c + 1 < missing && header(c + 1).isPresent()) {
                    c++;
                }
            }
        }
    }

    /** A new log: nothing to recover; start above every sequence seen, so no write collides with garbage. */
    private Found fresh(long nextSequence) {
        long next = nextSequence;
        if (!listed.isEmpty()) {
            next = Math.max(next, probeUp(listed.last()) + 1);
        } else {
            next = probeFresh(next);
        }
        detail.append("no chain: starting at sequence ").append(next);
        return new Found(List.of(), next, 0, next, 0, 0, maxEpochSeen, List.copyOf(listed), detail.toString());
    }

    /** With nothing listed, an object at sequence 0 and up may still exist (a lagging listing). */
    private long probeFresh(long from) {
        long s = from;
        if (header(s).isPresent()) {
            return probeUp(s) + 1;
        }
        return s;
    }

    /** The highest sequence of the contiguous run starting at {@code s} (which exists). */
    private long probeUp(long s) {
        while (header(s + 1).isPresent()) {
            s++;
            detail.append("sequence ").append(s).append(" found by probing (not listed); ");
        }
        return s;
    }

    private void fetchHeaders(long from, long to) {
        List<Long> wanted = new ArrayList<>();
        for (long s = Math.max(from, 0); s < to; s++) {
            if (!headers.containsKey(s)) {
                wanted.add(s);
            }
        }
        for (int i = 0; i < wanted.size(); i += HEADER_READS_IN_FLIGHT) {
            List<Long> batch = wanted.subList(i, Math.min(wanted.size(), i + HEADER_READS_IN_FLIGHT));
            List<CompletableFuture<Optional<WalObjectHeader>>> reads = new ArrayList<>();
            for (long s : batch) {
                reads.add(readHeader(s));
            }
            for (int j = 0; j < batch.size(); j++) {
                remember(batch.get(j), Await.join(reads.get(j)));
            }
        }
    }

    /** The header of {@code s}, read once; empty if no such object exists. */
    Optional<WalObjectHeader> header(long s) {
        if (s < 0) {
            return Optional.empty();
        }
        Optional<WalObjectHeader> h = headers.get(s);
        if (h == null) {
            h = Await.join(readHeader(s));
            remember(s, h);
        }
        return h;
    }

    private void remember(long s, Optional<WalObjectHeader> h) {
        headers.put(s, h);
        h.ifPresent(x -> maxEpochSeen = Math.max(maxEpochSeen, x.nodeEpoch()));
    }

    private CompletableFuture<Optional<WalObjectHeader>> readHeader(long s) {
        String key = keys.key(s);
        return storage.get(key, ByteRange.of(0, WalObjectDescriptor.HEADER_BYTES))
                .handle((data, e) -> {
                    if (e != null) {
                        if (Await.unwrap(e) instanceof ObjectNotFoundException) {
                            return Optional.empty();
                        }
                        throw new CompletionException(Await.unwrap(e));
                    }
                    try {
                        WalObjectHeader h = WalObjectDescriptor.readHeader(data.content(), key);
                        if (h.sequence() != s) {
                            throw new CorruptDataException("WAL object holds another sequence: key=" + key
                                    + " stored=" + h.sequence());
                        }
                        return Optional.of(h);
                    } finally {
                        data.release();
                    }
                });
    }

}
