package dev.strata.core.upload;

import dev.strata.core.append.IngestLedger;
import dev.strata.cache.SealedBlock;
import java.util.List;

/**
 * Where the uploader takes acknowledged data from: implemented by the append side's
 * {@code IngestLedger}, which owns the hand-off between the WAL and the LogCache.
 */
public interface UploadSource {

    /** What one seal took: the LogCache blocks, and the WAL position their data reaches. */
    record Sealed(List<SealedBlock> blocks, long walEnd) {
    }

    /**
     * Seals everything in the LogCache for upload, together with the WAL position the sealed data
     * reaches, as one atomic step: every WAL record below that position is in the sealed blocks or
     * needs no upload, so the WAL may be trimmed to it once the blocks are committed.
     */
    Sealed seal();
}
