/**
 * Internal: not API, may change (public only so that the engine in {@code dev.strata.core} can wire it).
 *
 * <p>Owns: fetches. {@link dev.strata.core.read.FetchPath} serves from the LogCache when it holds
 * the offset, else {@link dev.strata.core.read.ObjectReadPath} reads committed objects through the
 * block cache; the read path is the {@link dev.strata.core.read.ObjectCatalog} that uploads and
 * compaction tell about objects they commit or delete.
 * Does not own: the cache policies (cache module) or the object format (objectstore module).
 *
 * <p>Threads: catch-up reads run on "strata-read-N" (or the injected read executor), the block
 * cache's loads on "strata-blockcache-N".
 */
package dev.strata.core.read;
