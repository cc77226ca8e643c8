package dev.strata.wal.objectstore;

import java.util.concurrent.TimeUnit;

/**
 * Settings of an {@link ObjectStoreWal}. Immutable; build with {@link #builder(String)}, which checks
 * each value when it is set, and the combination in {@link Builder#build()}.
 *
 * @param prefix the store's prefix in the object storage: WAL objects are {@code <prefix>/wal/<sequence>}
 *     (empty: {@code wal/<sequence>}); one writer at a time per prefix (a second opener fences the first)
 * @param flushBytes an object is sealed and PUT as soon as its records reach this many bytes
 * @param flushIntervalNanos the interval timer seals what waits one interval after the previous seal
 *     (so at most this long after an object's first record or a {@link ObjectStoreWal#trim}), or, if
 *     nothing was sealed for an interval, a tenth of the interval after the first record; timer
 *     seals are thus at least an interval apart
 * @param maxPutsInFlight most PUTs of WAL objects outstanding at once; sealed objects beyond wait
 * @param maxBufferedBytes most bytes held in memory: records not yet sealed plus sealed objects not
 *     yet durable; an append that would exceed it is refused with a {@code BackpressureException}
 * @param capacityBytes most log bytes between the durable trim point and the write position (records
 *     with their frames); an append that would exceed it is refused with a {@code BackpressureException}
 * @param maxPutAttempts attempts per object for retriable PUT failures (throttling, 5xx, timeouts)
 *     before the WAL fails
 * @param retryBackoffNanos wait before the second attempt; doubled for each further one
 * @param recoveryReadAhead objects fetched ahead of the one being returned by recovery
 * @param earlyFlush whether records are sealed and PUT at once when no PUT is in flight, instead of
 *     waiting for the size or the interval (see {@link #DEFAULT_EARLY_FLUSH} for the rule, the PUT
 *     rate it allows and why it is the default)
 */
public record ObjectWalOptions(String prefix, int flushBytes, long flushIntervalNanos, int maxPutsInFlight,
        long maxBufferedBytes, long capacityBytes, int maxPutAttempts, long retryBackoffNanos,
        int recoveryReadAhead, boolean earlyFlush) {

    /** 8 MiB: the object size AutoMQ and WarpStream aim for; about 128 PUTs per GiB ingested. */
    public static final int DEFAULT_FLUSH_BYTES = 8 << 20;

    /**
     * 50 ms. The interval timer fires one interval after the previous seal, or a tenth of an
     * interval after the first record if nothing was sealed for an interval: at 20 ms PUT latency
     * (S3 Express) a lone append after a pause waits the 5 ms gather and one PUT, a closed loop of
     * appends goes round every 50 ms (measured), and at 100 ms (S3 Standard) every 105-108 ms; all inside the
     * issue's target of 3 PUT latencies plus the interval. A busy writer that fills
     * {@link #DEFAULT_FLUSH_BYTES} sooner flushes on size; a trickle pays at most 20 PUTs per second
     * per store (about 52 million a month, 260 USD at 0.005 USD per 1,000 PUTs), against 100 per
     * second at 10 ms and 4 per second at 250 ms. Measured with {@code ObjectStoreWalBenchmark}
     * (wal-objectstore/README.md): writers with many small appends in flight gain most from an
     * interval near the PUT latency (25 ms at 20 ms PUTs: twice the throughput at the same PUTs per
     * GiB, for a trickle bound of 40 PUTs/s); below the PUT latency rounds split into more objects.
     */
    public static final long DEFAULT_FLUSH_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** 8 PUTs: at 20 ms each, 400 objects per second, beyond what a 8 MiB / 50 ms writer needs. */
    public static final int DEFAULT_MAX_PUTS_IN_FLIGHT = 8;

    /** 64 MiB: the bytes of {@link #DEFAULT_MAX_PUTS_IN_FLIGHT} full objects. */
    public static final long DEFAULT_MAX_BUFFERED_BYTES = 64L << 20;

    /** 1 GiB of un-trimmed log: what the engine may hold back from uploading before appends stop. */
    public static final long DEFAULT_CAPACITY_BYTES = 1L << 30;

    /** 5 attempts: with {@link #DEFAULT_RETRY_BACKOFF_NANOS}, about 1.5 s of retrying before failing. */
    public static final int DEFAULT_MAX_PUT_ATTEMPTS = 5;

    /** 100 ms, doubled per attempt: S3's advice for 503 SlowDown is to back off. */
    public static final long DEFAULT_RETRY_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** 4 objects: recovery reads ahead to hide the GET latency. */
    public static final int DEFAULT_RECOVERY_READ_AHEAD = 4;

    /**
     * Early flush: off. The rule, when on: the records waiting are sealed and PUT as soon as no PUT
     * of this WAL is in flight (an append that finds none in flight is sealed at once; a PUT that
     * completes with none left in flight seals what gathered meanwhile); while a PUT is in flight,
     * records gather until {@link #flushBytes} or {@link #flushIntervalNanos}, as without it. Trim
     * points wait for the next object or the interval either way.
     *
     * <p>PUT rate (PUTs sealed by size aside, at most one per {@code flushBytes} appended): a PUT
     * that starts while another is in flight was sealed by the interval timer, which seals at most
     * once per interval; a PUT that starts early starts with none in flight, so early PUTs never
     * overlap: at most one per PUT latency. A trickle of appends therefore costs at most one PUT per
     * PUT latency when PUTs complete within the interval (the timer never fires then: each PUT's
     * completion seals what waited), and at most one per PUT latency plus one per interval when
     * they are slower; without early flush, one per interval. At 20 ms PUTs and the 50 ms
     * interval: 50 PUTs/s instead of 20 for a store that never stops trickling (about 650 instead
     * of 260 USD a month at 0.005 USD per 1,000 PUTs).
     *
     * <p>Measured at 20 ms PUTs and the 50 ms interval ({@code ObjectStoreWalBenchmark},
     * wal-objectstore/README.md, "Early flush"): one append in flight is acknowledged in 21 ms
     * instead of 50 (2.3 times the appends per second, the same PUTs per GiB); 256 appends of 4 KiB
     * in flight go at 22.6 instead of 19.7 MiB/s, but at twice the PUTs per GiB (2,060 instead of
     * 1,034): with one PUT in flight at a time, a closed loop's appends split into two objects per
     * round, each holding what arrived while the other was in flight. Off by default for that
     * cost, and for the trickle's bound above; a store that wants the latency (few appends in
     * flight) turns it on.
     */
    public static final boolean DEFAULT_EARLY_FLUSH = false;

    /** Smallest object size allowed: below that, PUT cost dominates. */
    public static final int MIN_FLUSH_BYTES = 4096;

    /** Largest object size allowed (a PUT of one buffer; S3 allows 5 GiB). */
    public static final int MAX_FLUSH_BYTES = 1 << 30;

    public ObjectWalOptions {
        checkPrefix(prefix);
        require(flushBytes >= MIN_FLUSH_BYTES && flushBytes <= MAX_FLUSH_BYTES, "flushBytes must be in ["
                + MIN_FLUSH_BYTES + ", " + MAX_FLUSH_BYTES + "], got " + flushBytes);
        require(flushIntervalNanos >= TimeUnit.MILLISECONDS.toNanos(1)
                && flushIntervalNanos <= TimeUnit.SECONDS.toNanos(60),
                "flushIntervalNanos must be in [1 ms, 60 s], got " + flushIntervalNanos);
        require(maxPutsInFlight >= 1 && maxPutsInFlight <= 1024,
                "maxPutsInFlight must be in [1, 1024], got " + maxPutsInFlight);
        require(maxBufferedBytes >= flushBytes, "maxBufferedBytes must be >= flushBytes, got maxBufferedBytes="
                + maxBufferedBytes + " flushBytes=" + flushBytes);
        require(capacityBytes >= flushBytes, "capacityBytes must be >= flushBytes, got capacityBytes="
                + capacityBytes + " flushBytes=" + flushBytes);
        require(maxPutAttempts >= 1 && maxPutAttempts <= 100,
                "maxPutAttempts must be in [1, 100], got " + maxPutAttempts);
        require(retryBackoffNanos >= 0 && retryBackoffNanos <= TimeUnit.SECONDS.toNanos(60),
                "retryBackoffNanos must be in [0, 60 s], got " + retryBackoffNanos);
        require(recoveryReadAhead >= 1 && recoveryReadAhead <= 64,
                "recoveryReadAhead must be in [1, 64], got " + recoveryReadAhead);
    }

    /** Defaults for {@code prefix}. */
    public static ObjectWalOptions defaults(String prefix) {
        return builder(prefix).build();
    }

    /**
     * A builder with every default, for the store at {@code prefix}.
     *
     * @throws IllegalArgumentException if {@code prefix} is not a valid key prefix
     */
    public static Builder builder(String prefix) {
        return new Builder(prefix);
    }

    /**
     * Largest record body an append accepts: its frame must fit in one object within both
     * {@link #maxBufferedBytes} and {@link #capacityBytes}.
     */
    public long maxRecordBytes() {
        long room = Math.min(Math.min(maxBufferedBytes, capacityBytes), Integer.MAX_VALUE - 1024L);
        return room - WalObjectDescriptor.HEADER_BYTES - WalObjectDescriptor.RECORD_FRAME_BYTES;
    }

    private static void checkPrefix(String prefix) {
        require(prefix != null, "prefix must not be null");
        if (prefix.isEmpty()) {
            return;
        }
        for (String segment : prefix.split("/", -1)) {
            require(!segment.isEmpty() && !segment.equals(".") && !segment.equals(".."),
                    "prefix must be '/'-separated non-empty segments other than . and .., got '" + prefix + "'");
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Builds {@link ObjectWalOptions}; each setter checks its value. Not thread-safe. */
    public static final class Builder {
        private final String prefix;
        private int flushBytes = DEFAULT_FLUSH_BYTES;
        private long flushIntervalNanos = DEFAULT_FLUSH_INTERVAL_NANOS;
        private int maxPutsInFlight = DEFAULT_MAX_PUTS_IN_FLIGHT;
        private long maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES;
        private long capacityBytes = DEFAULT_CAPACITY_BYTES;
        private int maxPutAttempts = DEFAULT_MAX_PUT_ATTEMPTS;
        private long retryBackoffNanos = DEFAULT_RETRY_BACKOFF_NANOS;
        private int recoveryReadAhead = DEFAULT_RECOVERY_READ_AHEAD;
        private boolean earlyFlush = DEFAULT_EARLY_FLUSH;

        private Builder(String prefix) {
            checkPrefix(prefix);
            this.prefix = prefix;
        }

        /** @throws IllegalArgumentException outside [{@link #MIN_FLUSH_BYTES}, {@link #MAX_FLUSH_BYTES}] */
        public Builder flushBytes(int bytes) {
            require(bytes >= MIN_FLUSH_BYTES && bytes <= MAX_FLUSH_BYTES,
                    "flushBytes must be in [" + MIN_FLUSH_BYTES + ", " + MAX_FLUSH_BYTES + "], got " + bytes);
            this.flushBytes = bytes;
            return this;
        }

        /** @throws IllegalArgumentException outside [1 ms, 60 s] */
        public Builder flushIntervalNanos(long nanos) {
            require(nanos >= TimeUnit.MILLISECONDS.toNanos(1) && nanos <= TimeUnit.SECONDS.toNanos(60),
                    "flushIntervalNanos must be in [1 ms, 60 s], got " + nanos);
            this.flushIntervalNanos = nanos;
            return this;
        }

        /** @throws IllegalArgumentException outside [1, 1024] */
        public Builder maxPutsInFlight(int puts) {
            require(puts >= 1 && puts <= 1024, "maxPutsInFlight must be in [1, 1024], got " + puts);
            this.maxPutsInFlight = puts;
            return this;
        }

        /** @throws IllegalArgumentException if not positive (checked against flushBytes in build) */
        public Builder maxBufferedBytes(long bytes) {
            require(bytes > 0, "maxBufferedBytes must be positive, got " + bytes);
            this.maxBufferedBytes = bytes;
            return this;
        }

        /** @throws IllegalArgumentException if not positive (checked against flushBytes in build) */
        public Builder capacityBytes(long bytes) {
            require(bytes > 0, "capacityBytes must be positive, got " + bytes);
            this.capacityBytes = bytes;
            return this;
        }

        /** @throws IllegalArgumentException outside [1, 100] */
        public Builder maxPutAttempts(int attempts) {
            require(attempts >= 1 && attempts <= 100, "maxPutAttempts must be in [1, 100], got " + attempts);
            this.maxPutAttempts = attempts;
            return this;
        }

        /** @throws IllegalArgumentException outside [0, 60 s] */
        public Builder retryBackoffNanos(long nanos) {
            require(nanos >= 0 && nanos <= TimeUnit.SECONDS.toNanos(60),
                    "retryBackoffNanos must be in [0, 60 s], got " + nanos);
            this.retryBackoffNanos = nanos;
            return this;
        }

        /** @throws IllegalArgumentException outside [1, 64] */
        public Builder recoveryReadAhead(int objects) {
            require(objects >= 1 && objects <= 64, "recoveryReadAhead must be in [1, 64], got " + objects);
            this.recoveryReadAhead = objects;
            return this;
        }

        /** Whether records are sealed at once when no PUT is in flight ({@link #DEFAULT_EARLY_FLUSH}). */
        public Builder earlyFlush(boolean on) {
            this.earlyFlush = on;
            return this;
        }

        /**
         * @throws IllegalArgumentException if {@code maxBufferedBytes} or {@code capacityBytes} is
         *     below {@code flushBytes}
         */
        public ObjectWalOptions build() {
            return new ObjectWalOptions(prefix, flushBytes, flushIntervalNanos, maxPutsInFlight, maxBufferedBytes,
                    capacityBytes, maxPutAttempts, retryBackoffNanos, recoveryReadAhead, earlyFlush);
        }
    }
}
