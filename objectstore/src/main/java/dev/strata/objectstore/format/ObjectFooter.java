package dev.strata.objectstore.format;

/** A decoded, checked footer ({@link ObjectFooterDescriptor}). */
public record ObjectFooter(long indexPosition, int indexLength, int indexCrc, int entryCount, short version) {
}
