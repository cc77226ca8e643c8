package dev.strata.core.metadata;

import java.nio.ByteBuffer;
import java.util.OptionalInt;

/**
 * The store-wide values of a manifest as a {@link ManifestMetadataStore} last read or wrote them,
 * for inspection tools (the {@code strata info} command): unlike {@link MetadataStore#nodeEpoch()},
 * which is the epoch <em>this</em> process registered (-1 for a reader that registered none),
 * {@code nodeEpoch} here is the newest epoch any process registered. Immutable.
 *
 * @param version the metadata version (the number of the newest log entry applied)
 * @param nodeEpoch the newest node epoch registered in the manifest (0: none yet)
 * @param nextStreamId the id the next created stream gets
 * @param walTrimPosition the WAL position up to which the committed objects hold the data
 */
public record ManifestSummary(long version, long nodeEpoch, long nextStreamId, long walTrimPosition) {

    /** Bytes of a manifest file's start that {@link #formatVersionOf} needs. */
    public static final int HEADER_PREFIX_BYTES = ManifestDescriptor.VERSION_OFFSET + Long.BYTES;

    /**
     * The format version in the header of a manifest file, from its first {@link #HEADER_PREFIX_BYTES}
     * bytes ({@code prefix}'s absolute positions from 0); empty if they are too few or do not start
     * with the manifest magic. No I/O; checks no CRC.
     */
    public static OptionalInt formatVersionOf(ByteBuffer prefix) {
        if (prefix.limit() < HEADER_PREFIX_BYTES || prefix.getInt(ManifestDescriptor.MAGIC_OFFSET) != ManifestDescriptor.MAGIC) {
            return OptionalInt.empty();
        }
        return OptionalInt.of(prefix.getShort(ManifestDescriptor.FORMAT_OFFSET));
    }

    /** The values of {@code store}'s current view (a consistent copy; no I/O). */
    public static ManifestSummary of(ManifestMetadataStore store) {
        MetadataState state = store.snapshotState();
        return new ManifestSummary(state.version(), state.nodeEpoch(), state.nextStreamId(), state.walTrimPosition());
    }
}
