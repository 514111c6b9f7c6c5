package dev.vigil.server.probe;

/**
 * How much probing work may wait, and for how long, before a sampled request is dropped from the statistics.
 *
 * @param queue   probed requests that may wait for a worker
 * @param workers threads that add probed requests to the statistics (each takes one model at a time)
 * @param waitMs  how long a sampled request may wait for a tap buffer set before its run, and for room in the queue
 *                after it; 0 drops at once
 */
public record ProbeCapacity(int queue, int workers, long waitMs) {
    public ProbeCapacity {
        if (queue < 1 || workers < 1 || waitMs < 0) {
            throw new IllegalArgumentException("probe queue and workers must be positive and the wait not negative, "
                    + "got queue " + queue + ", workers " + workers + ", wait " + waitMs + " ms");
        }
    }

    /** The wait in nanoseconds. */
    long waitNanos() {
        return waitMs * 1_000_000L;
    }
}
