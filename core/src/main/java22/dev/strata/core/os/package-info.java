/**
 * Internal: not API, may change. Compiled for JDK 22 (the FFM API) and loaded through
 * {@link java.util.ServiceLoader} only on JDK 22+.
 *
 * <p>Owns: the operating-system calls of the engine other than the WAL's (those are the WAL
 * module's): setting a thread's CPU priority
 * ({@link dev.strata.core.os.LinuxThreadScheduler}, behind
 * {@link dev.strata.core.support.NativeThreadScheduler}).
 *
 * <p>Threads: each call acts on the calling thread.
 */
package dev.strata.core.os;
