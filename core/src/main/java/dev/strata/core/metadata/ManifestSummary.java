package dev.strata.core.metadata;

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

    /** The values of {@code store}'s current view (a consistent copy; no I/O). */
    public static ManifestSummary of(ManifestMetadataStore store) {
        MetadataState state = store.snapshotState();
        return new ManifestSummary(state.version(), state.nodeEpoch(), state.nextStreamId(), state.walTrimPosition());
    }
}
