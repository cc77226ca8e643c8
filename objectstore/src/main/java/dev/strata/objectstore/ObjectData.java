package dev.strata.objectstore;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * Bytes read from an object: {@link #content()} holds the bytes starting at {@link #position()} of
 * an object whose total size is {@link #objectSize()}. The caller owns this holder and must
 * {@link #release()} it (or its content) exactly once. Not thread-safe beyond what Netty's
 * reference count guarantees: share the bytes across threads with {@code retainedDuplicate()}.
 */
public final class ObjectData extends DefaultByteBufHolder {
    private final String key;
    private final long position;
    private final long objectSize;
    private final String etag;

    public ObjectData(String key, ByteBuf content, long position, long objectSize, String etag) {
        super(content);
        this.key = key;
        this.position = position;
        this.objectSize = objectSize;
        this.etag = etag;
    }

    public String key() {
        return key;
    }

    /** Position in the object of {@code content().readerIndex()}. */
    public long position() {
        return position;
    }

    /** Size of the whole object. */
    public long objectSize() {
        return objectSize;
    }

    /** ETag of the object version these bytes came from; may be {@code null} if the backend did not say. */
    public String etag() {
        return etag;
    }

    @Override
    public ObjectData replace(ByteBuf content) {
        return new ObjectData(key, content, position, objectSize, etag);
    }

    @Override
    public String toString() {
        return "ObjectData[key=" + key + ", position=" + position + ", length=" + content().readableBytes()
                + ", objectSize=" + objectSize + "]";
    }
}
