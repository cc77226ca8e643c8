package dev.strata.jmh.runner;

/**
 * The conditions a run's figures hold under, printed above the table: cores, Java, where data and
 * objects went, and the load settings. Object store URIs are shown without their query, which may
 * carry credentials.
 */
final class Conditions {
    private Conditions() {
    }

    static String describe(RunnerOptions o) {
        return "conditions: cores=" + Runtime.getRuntime().availableProcessors() + " java=" + System.getProperty("java.version")
                + " dir=" + o.dir().toAbsolutePath() + " objects=" + objectStore(o) + " duration=" + o.duration().toMillis()
                + "ms streams=" + o.streams() + " recordBytes=" + o.recordBytes() + " rate=" + (o.rate() == 0 ? "max" : o.rate())
                + " walBytes=" + o.walBytes() + " cacheBytes=" + o.cacheBytes()
                + (o.replayBatchBytes() != o.recordBytes() ? " replayBatchBytes=" + o.replayBatchBytes() : "")
                + (o.stages() ? " stages=on" : "")
                + (o.walBackend() != dev.strata.wal.WalOptions.Backend.AUTO
                        ? " walBackend=" + o.walBackend().name().toLowerCase(java.util.Locale.ROOT) : "")
                + (o.replayPriority() != dev.strata.core.CpuPriority.NORMAL
                        ? " replayPriority=" + o.replayPriority().name().toLowerCase(java.util.Locale.ROOT)
                        + (dev.strata.core.CpuPriority.available() ? "" : "(unavailable)") : "");
    }

    /** "local directory", or the object store URI without its query. */
    static String objectStore(RunnerOptions o) {
        if (o.s3InProcess()) {
            return "s3-in-process (S3Proxy on loopback in the runner's JVM, objects as files under dir)";
        }
        if (o.objectStore() == null) {
            return "local directory";
        }
        java.net.URI u = o.objectStore();
        return u.getScheme() + "://" + u.getAuthority() + (u.getPath() == null ? "" : u.getPath());
    }
}
