package dev.strata.kafka;

/**
 * What a Produce response needs about one durable append.
 *
 * @param baseOffset offset of the batch's first record
 * @param lastOffset offset of the batch's last record
 * @param logAppendTimeMs the time stamped on the batch with {@code LogAppendTime}, or {@code -1}
 *     with {@code CreateTime}
 * @param logStartOffset the log start offset when the append was made
 */
public record AppendInfo(long baseOffset, long lastOffset, long logAppendTimeMs, long logStartOffset) {
}
