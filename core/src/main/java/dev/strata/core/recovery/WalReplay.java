package dev.strata.core.recovery;

import dev.strata.core.StoreRecoveryReport;
import dev.strata.core.Strata;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import dev.strata.wal.api.WriteAheadLog;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Recovery at open (docs/design.md, Recovery): replays the WAL from its trim point into the LogCache,
 * dropping what is already committed to objects, what belongs to deleted streams and what was
 * never acknowledged, and registers every stream's offsets.
 *
 * <p>Rule per stream: the next record accepted must start exactly at the stream's expected next
 * offset (its committed end, then the end of the last accepted record). A record that starts
 * elsewhere was written after an earlier append of its stream failed, so it was never
 * acknowledged; skipping it (rather than stopping) keeps what the re-opened stream appended later
 * at the same offsets. Records of one stream are in offset order in the WAL, since offsets are
 * assigned and handed to the WAL under the stream's lock.
 *
 * <p>Lost data: when the WAL reports a lost region (damage inside the log that acknowledged records
 * were written after) between a stream's last accepted record and a record of the stream that
 * starts past the expected offset, the gap is acknowledged data that was lost, not an append that
 * failed: it is reported per stream ({@link StoreRecoveryReport.LostOffsets}) and the stream's later
 * records are skipped (its offsets stay contiguous). {@code Strata.build()} then refuses to open
 * unless told otherwise.
 *
 * <p>Single-threaded: runs inside {@code Strata.build()} before the store serves.
 */
public final class WalReplay {

    private WalReplay() {
    }

    /**
     * Replays {@code wal} into {@code target}; returns what it found.
     *
     * @throws dev.strata.api.CorruptDataException if the WAL lost acknowledged data and
     *     {@code openDespiteLostData} is false (nothing past the damage was replayed)
     */
    public static StoreRecoveryReport replay(ReplayTarget target, WriteAheadLog wal, MetadataStore metadata,
            long uploadThresholdBytes, java.util.function.LongSupplier unuploadedBytes, long startNanos,
            boolean openDespiteLostData) {
        Map<Long, Long> expected = new HashMap<>();
        Map<Long, long[]> perStream = new HashMap<>(); // records, bytes, start, end
        long replayed = 0;
        long replayedBytes = 0;
        long committed = 0;
        long deleted = 0;
        long unacknowledged = 0;
        long fenced = 0;
        long afterLostData = 0;
        Map<Long, Long> lastAcceptedPosition = new HashMap<>();
        Map<Long, StoreRecoveryReport.LostOffsets> lost = new java.util.LinkedHashMap<>();
        WalRecovery recovery = wal.recover();
        try (recovery) {
            while (recovery.hasNext()) {
                WalRecord record = recovery.next();
                boolean kept = false;
                try {
                    if (!openDespiteLostData && !recovery.lostRegionsSoFar().isEmpty()) {
                        // Stop before replaying (and so committing and trimming) anything past the damage:
                        // the WAL keeps the evidence, and the next open finds the same loss.
                        throw lostData(recovery.lostRegionsSoFar());
                    }
                    StreamBatch batch = StreamBatchCodec.wrap(record.body(), "wal", record.position())
                            .verifyChecksum("wal position=" + record.position());
                    Optional<StreamMetadata> meta = metadata.stream(batch.streamId());
                    if (meta.isEmpty()) {
                        deleted++;
                        continue;
                    }
                    long next = expected.computeIfAbsent(batch.streamId(), id -> meta.get().committedEndOffset());
                    // a gap in the stream's offsets after a lost WAL region is lost acknowledged data
                    long lostAt = batch.baseOffset() <= next || lost.containsKey(batch.streamId()) ? -1 : lostRegionBetween(recovery,
                            lastAcceptedPosition.getOrDefault(batch.streamId(), -1L), record.position());
                    if (batch.nextOffset() <= meta.get().committedEndOffset()) {
                        committed++;
                    } else if (batch.epoch() < meta.get().epoch() && batch.baseOffset() >= meta.get().epochStartOffset()) {
                        fenced++; // written by a holder after a newer epoch took the stream over
                    } else if (lost.containsKey(batch.streamId())) {
                        afterLostData++;
                    } else if (lostAt >= 0) {
                        lost.put(batch.streamId(), new StoreRecoveryReport.LostOffsets(batch.streamId(), next,
                                batch.baseOffset(), lostAt));
                        afterLostData++;
                    } else if (batch.baseOffset() != next) {
                        unacknowledged++;
                    } else {
                        target.insert(batch, record.body(), record.nextPosition());
                        kept = true;
                        expected.put(batch.streamId(), batch.nextOffset());
                        lastAcceptedPosition.put(batch.streamId(), record.position());
                        long[] s = perStream.computeIfAbsent(batch.streamId(), id -> new long[] {0, 0, batch.baseOffset(), 0});
                        s[0]++;
                        s[1] += batch.sizeBytes();
                        s[3] = batch.nextOffset();
                        replayed++;
                        replayedBytes += batch.sizeBytes();
                        if (unuploadedBytes.getAsLong() >= uploadThresholdBytes) {
                            // Bound memory during a long replay: commit what was replayed so far.
                            target.registerStreams(expected);
                            target.commitReplayed();
                        }
                    }
                } finally {
                    if (!kept) {
                        record.body().release();
                    }
                }
            }
        }
        if (!openDespiteLostData && recovery.report().acknowledgedDataLost()) {
            throw lostData(recovery.report().lostRegions());
        }
        long walEnd = recovery.report().endPosition();
        for (dev.strata.wal.api.RecoveryReport.LostRegion region : recovery.report().lostRegions()) {
            walEnd = Math.max(walEnd, region.endPosition()); // accepted loss: the next trim passes the damage
        }
        target.skipTo(walEnd);
        target.registerStreams(expected);
        Map<Long, StoreRecoveryReport.StreamReplay> streams = new HashMap<>();
        perStream.forEach((id, s) -> streams.put(id, new StoreRecoveryReport.StreamReplay(s[0], s[1], s[2], s[3])));
        return new StoreRecoveryReport(recovery.report(), streams, replayed, replayedBytes, committed, deleted,
                unacknowledged, fenced, System.nanoTime() - startNanos, new java.util.ArrayList<>(lost.values()),
                afterLostData);
    }

    private static dev.strata.api.CorruptDataException lostData(java.util.List<dev.strata.wal.api.RecoveryReport.LostRegion> regions) {
        return new dev.strata.api.CorruptDataException("the WAL lost acknowledged data to damage inside the log: "
                + regions + ". The store does not open, so that no acknowledged offset is silently reused and the "
                + "WAL keeps the evidence (nothing past the damage was replayed, committed or trimmed); "
                + "Strata.builder().openDespiteLostWalData(true) opens it anyway (see its Javadoc)");
    }

    /**
     * The start of a lost WAL region the scan passed after {@code fromPosition} (-1: from the start)
     * and before {@code toPosition}, or -1 if none.
     */
    private static long lostRegionBetween(WalRecovery recovery, long fromPosition, long toPosition) {
        for (dev.strata.wal.api.RecoveryReport.LostRegion region : recovery.lostRegionsSoFar()) {
            if (region.position() > fromPosition && region.position() < toPosition) {
                return region.position();
            }
        }
        return -1;
    }
}
