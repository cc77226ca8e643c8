/**
 * Owns: the internal service interface between the WAL engine ({@code dev.strata.wal}) and its
 * write backends, so that a backend compiled for a newer JDK (io_uring via FFM, JDK 22+) can be
 * loaded with {@link java.util.ServiceLoader} without the JDK 17 code referring to it.
 * Does not own: record formats, grouping, durability decisions (all in {@code dev.strata.wal}).
 * Not an API for users: types are public only because Java needs that across packages.
 * Threads: backends run completions on their own threads ({@code strata-wal-io-*},
 * {@code strata-wal-uring-*}).
 * Buffers: a submitted buffer belongs to the backend until its completion runs; the WAL owns it
 * before and after.
 */
package dev.strata.wal.spi;
