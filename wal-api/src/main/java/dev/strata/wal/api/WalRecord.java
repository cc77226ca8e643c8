package dev.strata.wal.api;

import io.netty.buffer.ByteBuf;

/**
 * A record returned by recovery: its position, the position of the next record, and its body.
 * The receiver owns {@code body} and must release it.
 */
public record WalRecord(long position, long nextPosition, ByteBuf body) {
}
