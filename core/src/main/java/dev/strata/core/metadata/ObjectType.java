package dev.strata.core.metadata;

/** What an object holds (docs/design.md, Objects and their format). */
public enum ObjectType {
    /** Stream-set object: data of many streams for one time slice, written by an upload. */
    STREAM_SET,
    /** Stream object: one stream's contiguous range, written by an upload or by compaction. */
    STREAM
}
