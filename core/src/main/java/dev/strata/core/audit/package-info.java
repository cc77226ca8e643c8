/**
 * Internal: emits the store's {@link dev.strata.core.AuditEvent}s to its
 * {@link dev.strata.core.AuditListener} ({@link dev.strata.core.audit.AuditLog}), filling in the
 * time and node epoch, and shielding the store from a failing listener.
 */
package dev.strata.core.audit;
