package dev.strata.objectstore.testing;

/**
 * Runs {@link S3ProxyServer} (in memory) outside JUnit, for benchmarks against a local S3 server:
 * creates the buckets named in the arguments, prints {@code endpoint=http://127.0.0.1:<port>} and
 * serves until the process is killed or stdin is closed.
 */
public final class S3ProxyMain {
    private S3ProxyMain() {
    }

    public static void main(String[] args) throws Exception {
        S3ProxyServer server = S3ProxyServer.inMemory();
        server.start();
        for (String bucket : args) {
            server.createBucket(bucket);
        }
        System.out.println("endpoint=" + server.endpoint());
        System.out.flush();
        while (System.in.read() >= 0) {
            // serve until stdin closes
        }
        server.stop();
    }
}
