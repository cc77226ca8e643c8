package dev.strata.core.read;

import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.objectstore.format.ObjectIndex;

/**
 * What the read path is told about committed objects as they come and go: the uploader and the
 * compactor register the objects they commit (with the index a reader would otherwise fetch), the
 * garbage collector forgets the objects it deletes. Implemented by {@link ObjectReadPath}.
 * Thread-safe.
 */
public interface ObjectCatalog {

    /** Seeds the read path with the index of an object just committed. */
    void register(ObjectMetadata object, ObjectIndex index);

    /** Forgets what the read path cached about a deleted object. */
    void forgetObject(String key);
}
