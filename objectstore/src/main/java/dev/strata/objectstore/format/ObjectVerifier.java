package dev.strata.objectstore.format;

import dev.strata.api.CorruptDataException;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.Retrier;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * Checks objects from the object alone and prints what the manifest should say about them: every
 * block is read and verified (footer, index, block CRCs, decompression, batch framing, index
 * agreement) and the stream ranges are rebuilt from the index.
 *
 * <pre>
 * java -cp ... dev.strata.objectstore.format.ObjectVerifier &lt;storage-uri&gt; &lt;key&gt;...
 *   prints "ok key=... size=... streamId=... offsets=[a,b) blocks=n bytes=m" per range, or
 *   "CORRUPT key=... &lt;message&gt;"; exits 1 if any object is corrupt, 2 on other errors.
 * </pre>
 * Stateless and thread-safe.
 */
public final class ObjectVerifier {
    private ObjectVerifier() {
    }

    /**
     * Verifies {@code key} and returns its stream ranges.
     *
     * @throws CorruptDataException if anything in the object is damaged
     * @throws dev.strata.objectstore.ObjectStorageException if it cannot be read
     */
    public static List<StreamRange> verify(ObjectStorage storage, String key) {
        try {
            return ObjectReader.open(storage, key, -1).thenCompose(ObjectReader::verify).join();
        } catch (CompletionException e) {
            Throwable cause = Retrier.unwrap(e);
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: ObjectVerifier <storage-uri> <key>...");
            System.exit(2);
        }
        int status = 0;
        try (ObjectStorage storage = ObjectStorages.fromUri(URI.create(args[0]))) {
            for (int i = 1; i < args.length; i++) {
                String key = args[i];
                try {
                    long size = storage.head(key).join().size();
                    for (StreamRange r : verify(storage, key)) {
                        System.out.println("ok key=" + key + " size=" + size + " streamId=" + r.streamId() + " offsets=["
                                + r.startOffset() + "," + r.endOffset() + ") blocks=" + r.blockCount() + " bytes=" + r.bytes());
                    }
                } catch (CorruptDataException e) {
                    System.out.println("CORRUPT key=" + key + " " + e.getMessage());
                    status = Math.max(status, 1);
                } catch (RuntimeException e) {
                    System.out.println("ERROR key=" + key + " " + Retrier.unwrap(e));
                    status = 2;
                }
            }
        }
        System.exit(status);
    }
}
