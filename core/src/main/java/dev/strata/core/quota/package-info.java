/**
 * Internal: per-stream and per-tenant byte-rate quotas ({@link dev.strata.core.Quotas}) for appends
 * and catch-up reads: the token buckets, the admission of appends and the delay of reads, and the
 * throttling counters. The append path asks {@link dev.strata.core.quota.QuotaManager#admitAppend}
 * before an append goes to the WAL; the fetch path charges reads served from objects.
 */
package dev.strata.core.quota;
